using System.Globalization;

namespace RnnCluster.Data;

/// <summary>
/// The .npy header, read strictly: numpy writes one Python dict literal with exactly the keys
/// <c>'descr'</c> (a simple dtype string such as <c>'&lt;f4'</c>), <c>'fortran_order'</c> (True or
/// False) and <c>'shape'</c> (a tuple of non-negative integers), padded with spaces and a final
/// newline. Keys may come in any order, with any spacing and an optional trailing comma (what
/// numpy's own reader accepts of that form); integers may carry Python 2's <c>L</c> suffix
/// (numpy 1.x under Python 2 wrote them). Anything else (other keys, lists, nested literals,
/// other quoting) is refused with a message naming the source and the problem.
/// </summary>
internal sealed class NpyHeader
{
    public const string Supported =
        "supported: float32, float64, int8, int16, int32, int64, uint8, uint16, uint32, uint64, bool";

    private static readonly string[] Keys = ["descr", "fortran_order", "shape"];

    private readonly string _text;
    private readonly string _source;
    private int _pos;

    private NpyHeader(string text, string source)
    {
        _text = text;
        _source = source;
    }

    /// <exception cref="NpyFormatException">The header is not one numpy writes, or describes an array this reader does not support.</exception>
    public static (NpyDType DType, bool BigEndian, int[] Shape) Parse(string text, string source) => new NpyHeader(text, source).ParseDict();

    private (NpyDType, bool, int[]) ParseDict()
    {
        SkipSpaces();
        if (!Accept('{')) throw Malformed("not a dict");
        string? descr = null;
        bool? fortran = null;
        int[]? shape = null;
        SkipSpaces();
        while (!Accept('}'))
        {
            var key = Key();
            SkipSpaces();
            Expect(':', $"':' after '{key}'");
            SkipSpaces();
            switch (key)
            {
                case "descr":
                    if (descr is not null) throw Repeated(key);
                    descr = Descr();
                    break;
                case "fortran_order":
                    if (fortran is not null) throw Repeated(key);
                    fortran = Bool();
                    break;
                default:
                    if (shape is not null) throw Repeated(key);
                    shape = Shape();
                    break;
            }
            SkipSpaces();
            if (Accept(','))
            {
                SkipSpaces();
                continue;
            }
            SkipSpaces();
            if (!Accept('}')) throw Malformed($"expected ',' or '}}' at offset {_pos}");
            break;
        }
        // numpy pads the header with spaces and ends it with '\n'.
        while (_pos < _text.Length && _text[_pos] is ' ' or '\n' or '\r' or '\t') _pos++;
        if (_pos < _text.Length) throw Malformed($"unexpected '{Show(_text[_pos])}' after the dict");

        if (descr is null) throw Missing("descr");
        if (fortran is null) throw Missing("fortran_order");
        if (shape is null) throw Missing("shape");
        if (!TryParseDescr(descr, out var dtype, out bool bigEndian))
            throw new NpyFormatException(_source, $"unsupported dtype '{descr}' ({Supported})");
        if (fortran.Value)
            throw new NpyFormatException(_source, "fortran_order True (column-major) arrays are not supported; save a C-ordered array (np.ascontiguousarray)");
        return (dtype, bigEndian, shape);
    }

    private string Key()
    {
        if (_pos >= _text.Length || _text[_pos] != '\'') throw Malformed($"expected a key in single quotes at offset {_pos}");
        var key = QuotedString();
        if (!Keys.Contains(key))
            throw new NpyFormatException(_source, $"header key '{key}' is not one numpy writes (descr, fortran_order, shape): {Abbreviate(_text)}");
        return key;
    }

    private string Descr()
    {
        if (_pos < _text.Length && _text[_pos] is '[' or '(' or '{')
            throw new NpyFormatException(_source, $"unsupported dtype: structured dtypes are not supported ({Supported})");
        if (_pos >= _text.Length || _text[_pos] != '\'') throw Malformed($"'descr' must be a string in single quotes, at offset {_pos}");
        return QuotedString();
    }

    private bool Bool()
    {
        if (Word("True")) return true;
        if (Word("False")) return false;
        int end = _pos;
        while (end < _text.Length && _text[end] is not (',' or '}' or ' ')) end++;
        throw new NpyFormatException(_source, $"header 'fortran_order' must be True or False, got {_text[_pos..end]}");
    }

    private int[] Shape()
    {
        if (!Accept('('))
            throw new NpyFormatException(_source, $"header 'shape' must be a tuple of integers, at offset {_pos}: {Abbreviate(_text)}");
        var dims = new List<int>();
        SkipSpaces();
        bool comma = false;
        while (!Accept(')'))
        {
            if (dims.Count > 0 && !comma) throw Malformed($"expected ',' or ')' in 'shape' at offset {_pos}");
            dims.Add(Dimension());
            SkipSpaces();
            comma = Accept(',');
            SkipSpaces();
        }
        // Python: "(5)" is the integer 5, not a tuple; numpy always writes "(5,)".
        if (dims.Count == 1 && !comma) throw new NpyFormatException(_source, "header 'shape' must be a tuple of integers: a single dimension is written (n,)");
        return [.. dims];
    }

    private int Dimension()
    {
        int start = _pos;
        while (_pos < _text.Length && _text[_pos] is not (',' or ')' or ' ' or '\n' or '\t' or '\r')) _pos++;
        var token = _text[start.._pos];
        var digits = token.EndsWith('L') ? token[..^1] : token;
        if (digits.Length == 0 || !digits.All(char.IsAsciiDigit))
            throw new NpyFormatException(_source, $"header 'shape' must hold integers from 0 to {int.MaxValue}, got '{token}'");
        if (!int.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out int dim))
            throw new NpyFormatException(_source, $"header 'shape' dimension {digits} is too large (at most {int.MaxValue})");
        return dim;
    }

    /// <summary>A single-quoted string as Python's repr writes it (descr and keys hold no escapes).</summary>
    private string QuotedString()
    {
        int start = ++_pos;
        while (_pos < _text.Length && _text[_pos] != '\'')
        {
            if (_text[_pos] is '\\' or '\n') throw Malformed($"unexpected '{Show(_text[_pos])}' in a string at offset {_pos}");
            _pos++;
        }
        if (_pos >= _text.Length) throw Malformed("unterminated string");
        return _text[start.._pos++];
    }

    private bool Word(string word)
    {
        if (string.CompareOrdinal(_text, _pos, word, 0, word.Length) != 0) return false;
        int end = _pos + word.Length;
        if (end < _text.Length && char.IsAsciiLetterOrDigit(_text[end])) return false;
        _pos = end;
        return true;
    }

    private bool Accept(char c)
    {
        if (_pos >= _text.Length || _text[_pos] != c) return false;
        _pos++;
        return true;
    }

    private void Expect(char c, string what)
    {
        if (!Accept(c)) throw Malformed($"expected {what} at offset {_pos}");
    }

    private void SkipSpaces()
    {
        while (_pos < _text.Length && _text[_pos] is ' ' or '\n' or '\r' or '\t') _pos++;
    }

    private NpyFormatException Malformed(string problem) => new(_source, $"malformed header ({problem}): {Abbreviate(_text)}");

    private NpyFormatException Missing(string key) => new(_source, $"header has no '{key}' key: {Abbreviate(_text)}");

    private NpyFormatException Repeated(string key) => new(_source, $"header repeats the key '{key}': {Abbreviate(_text)}");

    private static string Show(char c) => c < ' ' ? $"\\x{(int)c:x2}" : c.ToString();

    private static string Abbreviate(string header)
    {
        string t = header.Trim();
        return t.Length <= 200 ? t : string.Concat(t.AsSpan(0, 200), "...");
    }

    /// <summary>Parses a simple descr such as '&lt;f4', '&gt;i8', '|u1', '=b1' (byte order, kind, size).</summary>
    private static bool TryParseDescr(string descr, out NpyDType dtype, out bool bigEndian)
    {
        dtype = default;
        bigEndian = false;
        char order = descr.Length > 0 && descr[0] is '<' or '>' or '|' or '=' ? descr[0] : '=';
        string rest = descr.Length > 0 && descr[0] is '<' or '>' or '|' or '=' ? descr[1..] : descr;
        if (rest.Length < 2 || !int.TryParse(rest.AsSpan(1), NumberStyles.None, CultureInfo.InvariantCulture, out int size))
            return false;
        NpyDType? t = (rest[0], size) switch
        {
            ('f', 4) => NpyDType.Float32,
            ('f', 8) => NpyDType.Float64,
            ('i', 1) => NpyDType.Int8,
            ('i', 2) => NpyDType.Int16,
            ('i', 4) => NpyDType.Int32,
            ('i', 8) => NpyDType.Int64,
            ('u', 1) => NpyDType.UInt8,
            ('u', 2) => NpyDType.UInt16,
            ('u', 4) => NpyDType.UInt32,
            ('u', 8) => NpyDType.UInt64,
            ('b', 1) => NpyDType.Bool,
            _ => null,
        };
        if (t is null) return false;
        if (size > 1)
        {
            switch (order)
            {
                case '<': bigEndian = false; break;
                case '>': bigEndian = true; break;
                case '=': bigEndian = !BitConverter.IsLittleEndian; break;
                default: return false; // '|' (no byte order) is meaningless for multi-byte types
            }
        }
        dtype = t.Value;
        return true;
    }
}
