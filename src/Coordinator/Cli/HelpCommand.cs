using System.CommandLine;
using RnnCluster.CommandLine;

namespace RnnCluster.Coordinator.Cli;

/// <summary><c>rnncluster help [COMMAND]</c>: the program's help, or one command's (as <c>rnncluster COMMAND --help</c>).</summary>
public static class HelpCommand
{
    public static Command Create(Command root)
    {
        var name = new Argument<string?>("COMMAND") { Description = "the command to describe", Arity = ArgumentArity.ZeroOrOne };
        var command = new Command("help", "show the help of the program or of one command") { name };
        command.SetAction(result =>
        {
            string[] path = ["--help"];
            if (result.GetValue(name) is { } wanted)
            {
                if (root.Subcommands.All(c => c.Name != wanted))
                    throw new UsageException($"unknown command '{wanted}'" + Suggestions.Phrase(wanted, root.Subcommands.Select(c => c.Name)));
                path = [wanted, "--help"];
            }
            return root.Parse(path, CliProgram.ParserConfiguration).Invoke(new InvocationConfiguration { Output = result.InvocationConfiguration.Output });
        });
        return command;
    }
}
