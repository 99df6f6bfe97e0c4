using System.Runtime.InteropServices;
using System.Security.Cryptography;

namespace RnnCluster.Checkpoints;

/// <summary>A sealed directory is missing a file, has one that does not match its checksum, or cannot be read.</summary>
public sealed class CorruptCheckpointException(string message) : Exception(message);

/// <summary>
/// A directory of files written all at once or not at all, with a <c>SHA256SUMS</c> file
/// (<c>sha256sum -c</c> format) that makes a truncated or damaged file detectable. Writing goes
/// to a hidden temporary sibling: every file is written and fsynced, then SHA256SUMS, then the
/// temporary directory is fsynced, renamed to its final name and the parent directory fsynced.
/// A crash at any point leaves either the complete directory or none (plus a temporary one that
/// <see cref="RemoveTemporaries"/> deletes).
/// </summary>
public static partial class SealedDirectory
{
    public const string SumsFile = "SHA256SUMS";
    private const string TemporaryPrefix = ".tmp-";

    /// <summary>Writes <paramref name="files"/> (name, writer) as directory <paramref name="target"/>, replacing none: the target must not exist.</summary>
    public static void Write(string target, IReadOnlyList<(string Name, Action<Stream> Write)> files)
    {
        var parent = Path.GetDirectoryName(Path.GetFullPath(target))!;
        Directory.CreateDirectory(parent);
        var temporary = Path.Combine(parent, $"{TemporaryPrefix}{Path.GetFileName(target)}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(temporary);
        try
        {
            var sums = new List<string>();
            foreach (var (name, write) in files)
            {
                var path = Path.Combine(temporary, name);
                using (var stream = new FileStream(path, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 1 << 16))
                {
                    write(stream);
                    stream.Flush(flushToDisk: true);
                    stream.Position = 0;
                    sums.Add($"{Convert.ToHexStringLower(SHA256.HashData(stream))}  {name}");
                }
            }
            using (var stream = new FileStream(Path.Combine(temporary, SumsFile), FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                using (var writer = new StreamWriter(stream, leaveOpen: true)) writer.Write(string.Concat(sums.Select(s => s + "\n")));
                stream.Flush(flushToDisk: true);
            }
            SyncDirectory(temporary);
            Directory.Move(temporary, target);
            SyncDirectory(parent);
        }
        catch
        {
            TryDelete(temporary);
            throw;
        }
    }

    /// <summary>Checks every file named in SHA256SUMS against its checksum and that <paramref name="required"/> are among them.</summary>
    /// <exception cref="CorruptCheckpointException">Says which file is missing or damaged.</exception>
    public static void Verify(string directory, IEnumerable<string> required)
    {
        var sumsPath = Path.Combine(directory, SumsFile);
        string[] lines;
        try
        {
            lines = File.ReadAllLines(sumsPath);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CorruptCheckpointException($"{sumsPath}: {e.Message}");
        }
        var listed = new HashSet<string>(StringComparer.Ordinal);
        foreach (var line in lines)
        {
            int gap = line.IndexOf("  ", StringComparison.Ordinal);
            if (gap != 64 || line.Length <= 66) throw new CorruptCheckpointException($"{sumsPath}: malformed line '{line}'");
            string expected = line[..64], name = line[66..];
            if (name.Contains('/') || name.Contains('\\') || name == "..") throw new CorruptCheckpointException($"{sumsPath}: bad file name '{name}'");
            var path = Path.Combine(directory, name);
            string actual;
            try
            {
                using var stream = File.OpenRead(path);
                actual = Convert.ToHexStringLower(SHA256.HashData(stream));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new CorruptCheckpointException($"{path}: {e.Message}");
            }
            if (!string.Equals(actual, expected, StringComparison.OrdinalIgnoreCase))
                throw new CorruptCheckpointException($"{path}: checksum {actual[..12]}... does not match {expected[..Math.Min(12, expected.Length)]}... in {SumsFile}");
            listed.Add(name);
        }
        foreach (var name in required)
            if (!listed.Contains(name)) throw new CorruptCheckpointException($"{directory}: {name} is not in {SumsFile}");
    }

    public static bool IsTemporary(string name) => name.StartsWith(TemporaryPrefix, StringComparison.Ordinal);

    /// <summary>Deletes what interrupted writes left in <paramref name="parent"/>.</summary>
    public static void RemoveTemporaries(string parent)
    {
        if (!Directory.Exists(parent)) return;
        foreach (var d in Directory.GetDirectories(parent))
            if (IsTemporary(Path.GetFileName(d))) TryDelete(d);
    }

    public static void TryDelete(string directory)
    {
        try
        {
            if (Directory.Exists(directory)) Directory.Delete(directory, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Left for the next RemoveTemporaries; nothing reads it.
        }
    }

    /// <summary>fsync of a directory, so a rename in it is on disk (POSIX; Windows has no such call and needs none).</summary>
    public static void SyncDirectory(string directory)
    {
        if (OperatingSystem.IsWindows()) return;
        // O_RDONLY opens a directory on Linux and macOS; fsync on that descriptor syncs its entries.
        int fd = Posix.Open(directory, Posix.ReadOnly);
        if (fd < 0) throw new IOException($"cannot open directory {directory} to sync it (errno {Marshal.GetLastPInvokeError()})");
        try
        {
            if (Posix.Fsync(fd) != 0) throw new IOException($"fsync of directory {directory} failed (errno {Marshal.GetLastPInvokeError()})");
        }
        finally
        {
            Posix.Close(fd);
        }
    }

    private static partial class Posix
    {
        public const int ReadOnly = 0;

        [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
        public static partial int Open(string path, int flags);

        [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
        public static partial int Fsync(int fd);

        [LibraryImport("libc", EntryPoint = "close")]
        public static partial int Close(int fd);
    }
}
