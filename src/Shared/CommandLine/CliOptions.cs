using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;

namespace RnnCluster.CommandLine;

/// <summary>
/// Factories for the kinds of options the programs take, so every program words its value errors
/// the same way ("--workers expects an integer, got 'many'") and documents every option.
/// </summary>
public static class CliOptions
{
    /// <summary>An optional integer (null when absent), at least <paramref name="min"/>.</summary>
    public static Option<int?> Int(string name, string helpName, string description, int min = int.MinValue) => new(name)
    {
        HelpName = helpName,
        Description = description,
        CustomParser = r => ParseInt(r, name, min),
    };

    /// <summary>An integer with a default (shown in the help).</summary>
    public static Option<int> Int(string name, string helpName, string description, int defaultValue, int min) => new(name)
    {
        HelpName = helpName,
        Description = description,
        DefaultValueFactory = _ => defaultValue,
        CustomParser = r => ParseInt(r, name, min) ?? 0,
    };

    /// <summary>The option's integer, or null with the error added to <paramref name="r"/>.</summary>
    private static int? ParseInt(ArgumentResult r, string name, int min)
    {
        var text = r.Tokens.Count == 0 ? "" : r.Tokens[^1].Value;
        if (!int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value))
        {
            r.AddError($"{name} expects an integer, got '{text}'");
            return null;
        }
        if (value < min)
        {
            r.AddError($"{name} must be at least {min}, got {value}");
            return null;
        }
        return value;
    }

    /// <summary>A number with a default (shown in the help).</summary>
    public static Option<double> Number(string name, string helpName, string description, double defaultValue, double min)
    {
        return new Option<double>(name)
        {
            HelpName = helpName,
            Description = description,
            DefaultValueFactory = _ => defaultValue,
            CustomParser = r =>
            {
                var text = r.Tokens.Count == 0 ? "" : r.Tokens[^1].Value;
                if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) || !double.IsFinite(value))
                {
                    r.AddError($"{name} expects a number, got '{text}'");
                    return 0;
                }
                if (value < min) r.AddError($"{name} must be at least {min.ToString(CultureInfo.InvariantCulture)}, got {text}");
                return value;
            },
        };
    }

    /// <summary>An optional text value (null when absent).</summary>
    public static Option<string?> Text(string name, string helpName, string description, bool required = false) => new(name)
    {
        HelpName = helpName,
        Description = description,
        Required = required,
    };

    /// <summary>A text value with a default (shown in the help).</summary>
    public static Option<string> Text(string name, string helpName, string description, string defaultValue) => new(name)
    {
        HelpName = helpName,
        Description = description,
        DefaultValueFactory = _ => defaultValue,
    };

    /// <summary>One of a fixed set of words, with a default.</summary>
    public static Option<string> OneOf(string name, string description, string defaultValue, params string[] values)
    {
        var option = new Option<string>(name)
        {
            HelpName = string.Join('|', values),
            Description = description,
            DefaultValueFactory = _ => defaultValue,
        };
        option.Validators.Add(r =>
        {
            var text = r.GetValueOrDefault<string>();
            if (!values.Contains(text, StringComparer.Ordinal))
                r.AddError($"{name} expects {string.Join(", ", values)}, got '{text}'" + Suggestions.Phrase(text, values));
        });
        return option;
    }

    /// <summary>An option that may be given several times (each value one item).</summary>
    public static Option<string[]> Repeated(string name, string helpName, string description) => new(name)
    {
        HelpName = helpName,
        Description = description,
        Arity = ArgumentArity.ZeroOrMore,
        DefaultValueFactory = _ => [],
    };

    /// <summary>A switch: present or not.</summary>
    public static Option<bool> Flag(string name, string description) => new(name)
    {
        Description = description,
        Arity = ArgumentArity.Zero,
    };

    /// <summary>
    /// <c>--math mkl|managed</c>: the math backend. Passed on as text, so the environment variable
    /// <c>RNNCLUSTER_MATH</c> and an unknown name are handled in one place (<c>MathOptions.FromEnvironment</c>).
    /// </summary>
    public static Option<string?> Math() => Text("--math", "mkl|managed",
        "math backend (env RNNCLUSTER_MATH; default mkl; MKL threads: env RNNCLUSTER_MKL_THREADS, default 1)");
}
