using System.Globalization;
using System.IO.Compression;
using System.Text;

namespace RnnCluster.Jobs;

/// <summary>
/// Reads CSV files (plain or gzip, by their magic bytes): a header row or numbered columns, the
/// wanted columns as numbers with the file line of each row, every problem a <see cref="JobException"/>
/// naming the file, row and column.
/// </summary>
internal static class CsvReader
{
    public sealed class Table
    {
        public required string[] Header { get; init; }
        public required Dictionary<string, double[]> Columns { get; init; }

        /// <summary>1-based file line of each data row.</summary>
        public required List<int> Lines { get; init; }

        public int Rows => Lines.Count;
    }

    private static TextReader Open(string path)
    {
        var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        try
        {
            Span<byte> magic = stackalloc byte[2];
            int got = stream.ReadAtLeast(magic, 2, throwOnEndOfStream: false);
            stream.Position = 0;
            Stream content = got == 2 && magic[0] == 0x1f && magic[1] == 0x8b ? new GZipStream(stream, CompressionMode.Decompress) : stream;
            return new StreamReader(content, Encoding.UTF8, detectEncodingFromByteOrderMarks: true);
        }
        catch
        {
            stream.Dispose();
            throw;
        }
    }

    private static string? ReadLine(TextReader reader, string path)
    {
        try
        {
            return reader.ReadLine();
        }
        catch (InvalidDataException e)
        {
            throw new JobException($"{path}: not a valid gzip file: {e.Message}");
        }
    }

    public static string[] ReadHeader(string path, bool header)
    {
        using var reader = Open(path);
        return Header(reader, path, header, out _, out _);
    }

    /// <summary>The column names: the header row's, or "0", "1", ... from the first row's cell count.</summary>
    private static string[] Header(TextReader reader, string path, bool header, out string? firstDataLine, out int line)
    {
        line = 0;
        string? text;
        do
        {
            text = ReadLine(reader, path);
            line++;
        } while (text is not null && string.IsNullOrWhiteSpace(text));
        if (text is null) throw new JobException($"{path}: the file is empty");
        var cells = Split(text);
        if (!header)
        {
            firstDataLine = text;
            line--;
            return [.. Enumerable.Range(0, cells.Count).Select(i => i.ToString(CultureInfo.InvariantCulture))];
        }
        firstDataLine = null;
        var names = cells.Select(c => c.Trim()).ToArray();
        var dup = names.GroupBy(n => n).FirstOrDefault(g => g.Count() > 1);
        if (dup is not null) throw new JobException($"{path}: the header names column '{dup.Key}' twice{HeaderHint(names)}");
        return names;
    }

    /// <summary>A hint when a header row holds only numbers: the file probably has no header.</summary>
    private static string HeaderHint(string[] names) =>
        names.All(n => double.TryParse(n, NumberStyles.Float, CultureInfo.InvariantCulture, out _))
            ? "; the first line looks like data: set data.header to false, then columns are named 0, 1, ..."
            : "";

    public static Table Read(string path, bool header, IReadOnlyList<string> wanted, bool allowMissing, string missingHint)
    {
        using var reader = Open(path);
        var names = Header(reader, path, header, out var pending, out int line);
        var index = new Dictionary<string, int>();
        for (int i = 0; i < names.Length; i++) index[names[i]] = i;
        foreach (var w in wanted)
        {
            if (index.ContainsKey(w)) continue;
            string hint = header ? HeaderHint(names) : "";
            throw new JobException($"{path}: unknown column '{w}' (columns: {string.Join(", ", names)}){hint}");
        }

        var columns = wanted.Distinct().ToDictionary(w => w, _ => new List<double>());
        var lines = new List<int>();
        while (true)
        {
            string? text;
            if (pending is not null)
            {
                text = pending;
                pending = null;
            }
            else text = ReadLine(reader, path);
            line++;
            if (text is null) break;
            if (string.IsNullOrWhiteSpace(text)) continue;
            var cells = Split(text);
            if (cells.Count != names.Length)
                throw new JobException($"{path} row {line}: {cells.Count} cell(s), expected {names.Length} ({string.Join(", ", names)})");
            foreach (var (name, values) in columns)
                values.Add(Parse(cells[index[name]], path, line, name, allowMissing, missingHint));
            lines.Add(line);
        }
        return new Table { Header = names, Columns = columns.ToDictionary(p => p.Key, p => p.Value.ToArray()), Lines = lines };
    }

    /// <summary>A cell's number; NaN for a missing value when allowed.</summary>
    private static double Parse(string cell, string path, int line, string column, bool allowMissing, string missingHint)
    {
        var text = cell.Trim();
        bool empty = text.Length == 0;
        bool missingToken = text is "NA" or "N/A" or "null" || text.Equals("nan", StringComparison.OrdinalIgnoreCase);
        if (empty || missingToken)
        {
            if (allowMissing) return double.NaN;
            string what = empty ? "empty value" : $"missing value '{text}'";
            throw new JobException($"{path} row {line}, column {column}: {what}{missingHint}");
        }
        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double value) || !double.IsFinite(value))
            throw new JobException($"{path} row {line}, column {column}: '{text}' is not a number");
        return value;
    }

    /// <summary>Splits a CSV line on commas; double quotes group cells and "" is a quote inside them.</summary>
    private static List<string> Split(string line)
    {
        var cells = new List<string>();
        var cell = new StringBuilder();
        bool quoted = false;
        for (int i = 0; i < line.Length; i++)
        {
            char c = line[i];
            if (quoted)
            {
                if (c == '"')
                {
                    if (i + 1 < line.Length && line[i + 1] == '"') { cell.Append('"'); i++; }
                    else quoted = false;
                }
                else cell.Append(c);
            }
            else if (c == '"') quoted = true;
            else if (c == ',')
            {
                cells.Add(cell.ToString());
                cell.Clear();
            }
            else cell.Append(c);
        }
        cells.Add(cell.ToString());
        return cells;
    }
}
