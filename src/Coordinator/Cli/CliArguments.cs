namespace RnnCluster.Coordinator.Cli;

/// <summary>A command-line mistake: printed as one line with the usage hint, exit code 2.</summary>
public sealed class UsageException(string message) : Exception(message);

/// <summary>
/// Minimal parser for <c>command [positional] [--name value] [--flag]</c>; every option must be
/// known to the command, so a typo is an error rather than silently ignored.
/// </summary>
public sealed class CliArguments
{
    private readonly Dictionary<string, string?> _options = [];
    private readonly List<string> _positional = [];

    public CliArguments(IEnumerable<string> args, IReadOnlySet<string> valueOptions, IReadOnlySet<string> flags)
    {
        var list = args.ToList();
        for (int i = 0; i < list.Count; i++)
        {
            var a = list[i];
            if (!a.StartsWith("--", StringComparison.Ordinal))
            {
                _positional.Add(a);
                continue;
            }
            var name = a[2..];
            string? inline = null;
            int eq = name.IndexOf('=');
            if (eq >= 0)
            {
                inline = name[(eq + 1)..];
                name = name[..eq];
            }
            if (flags.Contains(name))
                _options[name] = null;
            else if (valueOptions.Contains(name))
            {
                if (inline is null && (i + 1 >= list.Count || list[i + 1].StartsWith("--", StringComparison.Ordinal)))
                    throw new UsageException($"option --{name} needs a value");
                _options[name] = inline ?? list[++i];
            }
            else throw new UsageException($"unknown option --{name}");
        }
    }

    public IReadOnlyList<string> Positional => _positional;

    public bool Has(string name) => _options.ContainsKey(name);

    public string? Value(string name) => _options.GetValueOrDefault(name);

    public int? Int(string name, int min = int.MinValue)
    {
        var v = Value(name);
        if (v is null) return null;
        if (!int.TryParse(v, out var parsed)) throw new UsageException($"--{name} expects an integer, got '{v}'");
        if (parsed < min) throw new UsageException($"--{name} must be at least {min}, got {parsed}");
        return parsed;
    }
}
