using System.CommandLine;
using System.CommandLine.Help;

namespace RnnCluster.CommandLine;

/// <summary>
/// One line per command, <c>rnncluster train [JOB] [--workers N] ...</c>, made from the parser:
/// the README's command list is checked against it.
/// </summary>
public static class Synopsis
{
    /// <summary>The synopsis of every command of the tree that runs something (groups without an action are left out).</summary>
    public static IEnumerable<string> Lines(Command root) =>
        CliProgram.Commands(root).Where(c => c.Command.Action is not null).Select(c => Line(c.Path, c.Command));

    public static string Line(string path, Command command)
    {
        var parts = new List<string> { path };
        foreach (var argument in command.Arguments)
        {
            var name = argument.HelpName ?? argument.Name.ToUpperInvariant();
            if (argument.Arity.MaximumNumberOfValues > 1) name += "...";
            parts.Add(argument.Arity.MinimumNumberOfValues == 0 ? $"[{name}]" : name);
        }
        foreach (var option in command.Options.Where(IsDocumented))
        {
            var label = option.Arity.MaximumNumberOfValues == 0 ? option.Name : $"{option.Name} {option.HelpName ?? "VALUE"}";
            label = option.Required ? label : $"[{label}]";
            if (option.Arity.MaximumNumberOfValues > 1) label += "...";
            parts.Add(label);
        }
        return string.Join(' ', parts);
    }

    /// <summary>Options a synopsis lists: not the --help and --version every command has.</summary>
    public static bool IsDocumented(Option option) => option is not HelpOption && option.Name is not "--version";
}
