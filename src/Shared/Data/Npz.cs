using System.Collections.ObjectModel;
using System.IO.Compression;

namespace RnnCluster.Data;

/// <summary>
/// Reads and writes numpy's .npz archives: a zip of .npy files, one per array, named
/// <c>key + ".npy"</c>. Reading handles stored (<c>np.savez</c>) and deflated
/// (<c>np.savez_compressed</c>) entries. Writing stores entries uncompressed like <c>np.savez</c>, with
/// every entry time set to <see cref="EntryTimestamp"/> so the same arrays always give the same bytes.
/// </summary>
public static class Npz
{
    /// <summary>The modification time written on every entry (the earliest a zip can record).</summary>
    public static readonly DateTimeOffset EntryTimestamp = new(1980, 1, 1, 0, 0, 0, TimeSpan.Zero);

    /// <summary>
    /// Reads every array in the archive at <paramref name="path"/>, keyed by entry name without
    /// the ".npy" suffix, in archive order.
    /// </summary>
    /// <exception cref="FileNotFoundException">"data file not found: path".</exception>
    /// <exception cref="NpyFormatException">Not a zip, or an entry is not a readable .npy ("path/entry.npy: problem").</exception>
    public static IReadOnlyDictionary<string, NpyArray> ReadFile(string path)
    {
        using var stream = Npy.OpenRead(path);
        return Read(stream, path);
    }

    /// <summary>
    /// Reads every array in the archive in <paramref name="s"/> (left open), keyed by entry name
    /// without the ".npy" suffix, in archive order. Errors name <c>sourceName/entry</c>.
    /// </summary>
    public static IReadOnlyDictionary<string, NpyArray> Read(Stream s, string sourceName)
    {
        ArgumentNullException.ThrowIfNull(s);
        sourceName ??= "<stream>";
        ZipArchive zip;
        try
        {
            zip = new ZipArchive(s, ZipArchiveMode.Read, leaveOpen: true);
        }
        catch (InvalidDataException e)
        {
            throw new NpyFormatException(sourceName, $"not a valid .npz (zip) archive: {e.Message}", e);
        }

        using (zip)
        {
            var arrays = new OrderedDictionary<string, NpyArray>(StringComparer.Ordinal);
            foreach (var entry in zip.Entries)
            {
                if (entry.FullName.EndsWith('/')) continue; // a directory entry
                string entrySource = $"{sourceName}/{entry.FullName}";
                string key = entry.FullName.EndsWith(".npy", StringComparison.Ordinal) ? entry.FullName[..^4] : entry.FullName;
                if (arrays.ContainsKey(key))
                    throw new NpyFormatException(entrySource, $"the archive holds more than one array named '{key}'");
                NpyArray array;
                try
                {
                    using var entryStream = entry.Open();
                    array = Npy.ReadCore(entryStream, entrySource, entry.Length);
                }
                catch (Exception e) when (e is InvalidDataException or NotSupportedException)
                {
                    throw new NpyFormatException(entrySource, $"cannot read the zip entry: {e.Message}", e);
                }
                arrays.Add(key, array);
            }
            return new ReadOnlyDictionary<string, NpyArray>(arrays);
        }
    }

    /// <summary>Writes the arrays to <paramref name="path"/> (created or overwritten) as an uncompressed .npz.</summary>
    public static void WriteFile(string path, IEnumerable<KeyValuePair<string, NpyArray>> arrays)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var list = Validate(arrays);
        using var stream = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16);
        WriteCore(stream, list);
    }

    /// <summary>
    /// Writes the arrays, in the given order, to <paramref name="s"/> (left open) as a zip with
    /// one stored entry <c>key + ".npy"</c> per array. Byte-for-byte reproducible.
    /// </summary>
    public static void Write(Stream s, IEnumerable<KeyValuePair<string, NpyArray>> arrays)
    {
        ArgumentNullException.ThrowIfNull(s);
        WriteCore(s, Validate(arrays));
    }

    private static void WriteCore(Stream s, List<KeyValuePair<string, NpyArray>> arrays)
    {
        using var zip = new ZipArchive(s, ZipArchiveMode.Create, leaveOpen: true);
        foreach (var (key, array) in arrays)
        {
            var entry = zip.CreateEntry(key + ".npy", CompressionLevel.NoCompression);
            entry.LastWriteTime = EntryTimestamp;
            using var entryStream = entry.Open();
            Npy.Write(entryStream, array);
        }
    }

    private static List<KeyValuePair<string, NpyArray>> Validate(IEnumerable<KeyValuePair<string, NpyArray>> arrays)
    {
        ArgumentNullException.ThrowIfNull(arrays);
        var list = arrays.ToList();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (key, array) in list)
        {
            if (string.IsNullOrEmpty(key))
                throw new ArgumentException("array names must be non-empty", nameof(arrays));
            if (array is null)
                throw new ArgumentException($"array '{key}' is null", nameof(arrays));
            if (!seen.Add(key))
                throw new ArgumentException($"array name '{key}' appears more than once", nameof(arrays));
        }
        return list;
    }
}
