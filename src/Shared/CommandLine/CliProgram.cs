using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Parsing;

namespace RnnCluster.CommandLine;

/// <summary>
/// Runs one program's command tree (System.CommandLine) with the project's conventions, the same
/// for <c>rnncluster</c>, <c>rnncluster-worker</c> and the bench programs:
/// <list type="bullet">
/// <item><c>--help</c> (<c>-h</c>) on every command prints its help on standard output, exit 0;</item>
/// <item>a usage mistake (unknown command or option, with a suggestion when one is close; a missing
/// or malformed value; a <see cref="UsageException"/> from the command) is one line on standard
/// error, <c>program: message (see 'program command --help')</c>, exit 2;</item>
/// <item>an exception <c>isError</c> accepts is one line <c>program: error: message</c>, exit 1;
/// anything else is a bug and propagates with its stack trace.</item>
/// </list>
/// Commands write through <c>ParseResult.InvocationConfiguration.Output</c>, so tests can capture them.
/// </summary>
public sealed class CliProgram(Command root, Func<Exception, bool> isError)
{
    /// <summary>
    /// A program's root command: named as the program (a <c>RootCommand</c> takes the name of the
    /// running executable, which under a test host is not the program's) with <c>--help</c> on it
    /// and, recursively, on every command below it.
    /// </summary>
    public static Command CreateRoot(string name, string description) => new(name, description) { new HelpOption() };

    public Command Root { get; } = root;

    /// <summary>The program's name, as its help and messages show it.</summary>
    public string Name => Root.Name;

    /// <summary>Response files (<c>@file</c>) are off: a job path may start with '@'.</summary>
    public static ParserConfiguration ParserConfiguration { get; } = new() { ResponseFileTokenReplacer = null };

    public ParseResult Parse(IReadOnlyList<string> args) => Root.Parse(args, ParserConfiguration);

    public async Task<int> RunAsync(IReadOnlyList<string> args, TextWriter? output = null, TextWriter? error = null)
    {
        output ??= Console.Out;
        error ??= Console.Error;
        var result = Parse(args);
        if (UsageError(result) is { } message)
        {
            error.WriteLine($"{Name}: {message} (see '{CommandPath(result.CommandResult)} --help')");
            return 2;
        }
        var configuration = new InvocationConfiguration
        {
            Output = output,
            Error = error,
            EnableDefaultExceptionHandler = false,
            // The node programs handle SIGINT/SIGTERM themselves (coordinated shutdown).
            ProcessTerminationTimeout = null,
        };
        try
        {
            return await result.InvokeAsync(configuration);
        }
        catch (UsageException e)
        {
            error.WriteLine($"{Name}: {e.Message} (see '{CommandPath(result.CommandResult)} --help')");
            return 2;
        }
        catch (Exception e) when (isError(e))
        {
            error.WriteLine($"{Name}: error: {e.Message.Split('\n')[0].TrimEnd('\r')}");
            return 1;
        }
    }

    /// <summary>The one-line description of what is wrong with the command line, or null when nothing is (or help was asked for).</summary>
    public static string? UsageError(ParseResult result)
    {
        if (result.Action is HelpAction) return null;
        // An unknown option where an argument may stand is taken as the argument's value ("train --wrkers"
        // would read a job file named "--wrkers"): report it as the unknown option it is.
        if (StrayOption(result) is { } stray)
            return $"unknown option {stray}" + Suggestions.Phrase(stray, OptionsInScope(result.CommandResult).SelectMany(o => o.Aliases.Prepend(o.Name)));
        if (result.Errors.Count == 0) return null;
        var command = result.CommandResult.Command;
        if (result.UnmatchedTokens.Count > 0)
        {
            var token = result.UnmatchedTokens[0];
            if (token.StartsWith('-'))
                return $"unknown option {token}" + Suggestions.Phrase(token, OptionsInScope(result.CommandResult).SelectMany(o => o.Aliases.Prepend(o.Name)));
            if (command.Subcommands.Count > 0 && command.Arguments.Count == 0)
                return $"unknown command '{token}'" + Suggestions.Phrase(token, command.Subcommands.SelectMany(c => c.Aliases.Prepend(c.Name)));
            return $"unexpected argument '{token}'";
        }
        foreach (var option in OptionsInScope(result.CommandResult))
        {
            if (option.Required && result.GetResult(option) is not OptionResult { IdentifierToken: not null })
                return $"option {option.Name} {option.HelpName} is required: {option.Description}";
        }
        var first = result.Errors[0];
        if (first.SymbolResult is OptionResult o && o.Tokens.Count == 0 && o.Option.Arity.MinimumNumberOfValues > 0)
            return $"option {o.Option.Name} needs a value";
        if (first.SymbolResult is CommandResult c && c.Command.Subcommands.Count > 0 && c.Command.Action is null)
            return $"no command given; one of {string.Join(", ", c.Command.Subcommands.Select(s => s.Name))}";
        return first.Message;
    }

    /// <summary>
    /// The first value of a command argument that looks like an option (starts with '-' and is not a
    /// number), unless it comes after "--" (which passes everything after it on as arguments).
    /// </summary>
    private static string? StrayOption(ParseResult result)
    {
        var passedOn = result.Tokens.SkipWhile(t => t.Type != TokenType.DoubleDash).ToHashSet(ReferenceEqualityComparer.Instance);
        foreach (var argument in result.CommandResult.Children.OfType<ArgumentResult>())
        {
            foreach (var token in argument.Tokens)
            {
                if (passedOn.Contains(token)) continue;
                var v = token.Value;
                if (v.Length > 1 && v[0] == '-' && !double.TryParse(v, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out _))
                    return v;
            }
        }
        return null;
    }

    /// <summary>The command's options and the recursive ones of its parents (such as --help).</summary>
    public static IEnumerable<Option> OptionsInScope(CommandResult result)
    {
        foreach (var option in result.Command.Options) yield return option;
        for (var parent = result.Parent as CommandResult; parent is not null; parent = parent.Parent as CommandResult)
        {
            foreach (var option in parent.Command.Options.Where(o => o.Recursive)) yield return option;
        }
    }

    /// <summary>"rnncluster train": the names from the root to <paramref name="result"/>.</summary>
    public static string CommandPath(CommandResult result)
    {
        var names = new List<string>();
        for (SymbolResult? r = result; r is not null; r = r.Parent)
        {
            if (r is CommandResult c) names.Add(c.Command.Name);
        }
        names.Reverse();
        return string.Join(' ', names);
    }

    /// <summary>Every command of the tree with its path from the root, the root first.</summary>
    public static IEnumerable<(string Path, Command Command)> Commands(Command root, string? prefix = null)
    {
        var path = prefix is null ? root.Name : $"{prefix} {root.Name}";
        yield return (path, root);
        foreach (var sub in root.Subcommands)
        {
            foreach (var entry in Commands(sub, path)) yield return entry;
        }
    }
}
