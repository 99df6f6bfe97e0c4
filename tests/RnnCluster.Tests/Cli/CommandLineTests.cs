using System.CommandLine;
using RnnCluster.Bench;
using RnnCluster.CommandLine;
using RnnCluster.Tests.Jobs;
using RnnCluster.Worker;
using Xunit;

namespace RnnCluster.Tests.Cli;

/// <summary>
/// The command-line layer of every program: each command answers --help with its options and
/// arguments documented, usage mistakes are one line with exit code 2 and a suggestion when a
/// name is close, and the README's command list is the parser's.
/// </summary>
public sealed class CommandLineTests
{
    /// <summary>Every program built on <see cref="CliProgram"/>; a new program is one more line.</summary>
    public static readonly IReadOnlyList<Func<CliProgram>> Programs =
    [
        Coordinator.Program.CreateProgram,
        WorkerProgram.CreateProgram,
        BenchProgram.CreateProgram,
    ];

    public static TheoryData<string> CommandPaths()
    {
        var data = new TheoryData<string>();
        foreach (var program in Programs)
        {
            foreach (var (path, _) in CliProgram.Commands(program().Root)) data.Add(path);
        }
        return data;
    }

    private static (CliProgram Program, Command Command) Find(string path)
    {
        foreach (var create in Programs)
        {
            var program = create();
            foreach (var (p, c) in CliProgram.Commands(program.Root))
            {
                if (p == path) return (program, c);
            }
        }
        throw new InvalidOperationException($"no command '{path}'");
    }

    private static async Task<(int Code, string Out, string Err)> Run(CliProgram program, params string[] args)
    {
        var (output, error) = (new StringWriter(), new StringWriter());
        int code = await program.RunAsync(args, output, error).WaitAsync(TimeSpan.FromSeconds(30));
        return (code, output.ToString(), error.ToString());
    }

    [Fact]
    public void The_programs_have_the_commands_the_readme_and_the_deploy_files_use()
    {
        var paths = Programs.SelectMany(p => CliProgram.Commands(p().Root)).Select(c => c.Path).ToHashSet();
        foreach (var expected in new[] { "rnncluster train", "rnncluster predict", "rnncluster evaluate", "rnncluster coordinator", "rnncluster submit",
                     "rnncluster status", "rnncluster help", "rnncluster-worker", "rnncluster-bench step", "rnncluster-bench kernels" })
            Assert.Contains(expected, paths);
    }

    [Theory]
    [MemberData(nameof(CommandPaths))]
    public async Task Every_command_answers_help_with_every_option_and_argument_documented(string path)
    {
        var (program, command) = Find(path);
        Assert.False(string.IsNullOrWhiteSpace(command.Description), $"{path} has no description");
        var args = path.Split(' ').Skip(1).ToList();
        foreach (var flag in new[] { "--help", "-h" })
        {
            var (code, output, error) = await Run(program, [.. args, flag]);
            Assert.Equal(0, code);
            Assert.Equal("", error);
            Assert.Contains("Usage:", output);
            Assert.Contains($"  {path}", output);
            Assert.Contains(command.Description!.Split('\n')[0].Trim(), output);
            foreach (var option in command.Options)
            {
                Assert.False(string.IsNullOrWhiteSpace(option.Description), $"{path} {option.Name} has no description");
                Assert.Contains(option.Name, output);
                Assert.Contains(option.Description!.Split('\n')[0].Trim(), output.Replace("\n", " ").Replace("  ", " "));
            }
            foreach (var argument in command.Arguments)
            {
                Assert.False(string.IsNullOrWhiteSpace(argument.Description), $"{path} <{argument.Name}> has no description");
                Assert.Contains($"<{argument.Name}>", output);
            }
            foreach (var sub in command.Subcommands) Assert.Contains(sub.Name, output);
        }
    }

    [Theory]
    [MemberData(nameof(CommandPaths))]
    public async Task An_unknown_option_on_any_command_is_one_line_exit_2(string path)
    {
        var (program, _) = Find(path);
        var (code, output, error) = await Run(program, [.. path.Split(' ').Skip(1), "--no-such-option"]);
        Assert.Equal(2, code);
        Assert.Equal("", output);
        Assert.Equal($"{program.Name}: unknown option --no-such-option (see '{path} --help')", error.TrimEnd());
    }

    [Theory]
    [InlineData("rnncluster-worker --sed 127.0.0.1:4053", "rnncluster-worker: unknown option --sed; did you mean --seed? (see 'rnncluster-worker --help')")]
    [InlineData("rnncluster-worker", "rnncluster-worker: give at least one seed node: --seed akka.tcp://rnncluster@HOST:PORT (or RNNCLUSTER_SEEDS) (see 'rnncluster-worker --help')")]
    [InlineData("rnncluster-worker --seed 127.0.0.1:4053 --port", "rnncluster-worker: option --port needs a value (see 'rnncluster-worker --help')")]
    [InlineData("rnncluster-bench stpe", "rnncluster-bench: unknown command 'stpe'; did you mean step? (see 'rnncluster-bench --help')")]
    [InlineData("rnncluster-bench step --cell lsmt", "rnncluster-bench: --cell expects rnn, simple_rnn, lstm, gru, got 'lsmt'; did you mean lstm? (see 'rnncluster-bench step --help')")]
    [InlineData("rnncluster-bench step --batch 0", "rnncluster-bench: --batch must be at least 1, got 0 (see 'rnncluster-bench step --help')")]
    [InlineData("rnncluster-bench local --workers 1,x", "rnncluster-bench: --workers expects worker counts of at least 1 separated by commas, got '1,x' (see 'rnncluster-bench local --help')")]
    [InlineData("rnncluster trian", "rnncluster: unknown command 'trian'; did you mean train? (see 'rnncluster --help')")]
    [InlineData("rnncluster submit --contcat x", "rnncluster: unknown option --contcat; did you mean --contact? (see 'rnncluster submit --help')")]
    public async Task Usage_mistakes_name_the_problem_and_the_closest_name(string commandLine, string expected)
    {
        var words = commandLine.Split(' ');
        var program = Programs.Select(p => p()).Single(p => p.Name == words[0]);
        var (code, output, error) = await Run(program, words[1..]);
        Assert.Equal(2, code);
        Assert.Equal("", output);
        Assert.Equal(expected, error.TrimEnd());
    }

    [Fact]
    public async Task Help_command_prints_the_help_of_the_program_or_of_one_command()
    {
        var program = Coordinator.Program.CreateProgram();
        var (code, output, _) = await Run(program, "help", "train");
        Assert.Equal(0, code);
        Assert.Equal((await Run(program, "train", "--help")).Out, output);
        (code, output, _) = await Run(program, "help");
        Assert.Equal(0, code);
        Assert.Equal((await Run(program, "--help")).Out, output);
        Assert.Equal(2, (await Run(program, "help", "trian")).Code);
    }

    [Fact]
    public void The_readme_command_list_is_the_parsers()
    {
        var expected = string.Join("\n", new[] { Coordinator.Program.CreateRoot(), WorkerProgram.CreateRoot() }.SelectMany(Synopsis.Lines));
        var readme = File.ReadAllText(Path.Combine(JobTestSupport.RepoRoot, "README.md")).Replace("\r\n", "\n");
        int section = readme.IndexOf("\n## Command line\n", StringComparison.Ordinal);
        Assert.True(section >= 0, "README.md has no '## Command line' section");
        int start = readme.IndexOf("```\n", section, StringComparison.Ordinal) + 4;
        int end = readme.IndexOf("```", start, StringComparison.Ordinal);
        var actual = readme[start..end].TrimEnd('\n');
        Assert.True(expected == actual, $"README.md's command list differs from the parser; it should read:\n```\n{expected}\n```\nnot:\n```\n{actual}\n```");
    }

    [Fact]
    public void Synopsis_marks_optional_required_and_repeated_parts()
    {
        var command = new Command("x", "d")
        {
            new Argument<string?>("JOB") { Arity = ArgumentArity.ZeroOrOne },
            CliOptions.Text("--model", "DIR", "m", required: true),
            CliOptions.Repeated("--seed", "ADDRESS", "s"),
            CliOptions.Flag("--json", "j"),
        };
        Assert.Equal("p x [JOB] --model DIR [--seed ADDRESS]... [--json]", Synopsis.Line("p x", command));
    }

    [Theory]
    [InlineData("--wrkers", "--workers")]
    [InlineData("trian", "train")]
    [InlineData("--work", "--workers")]
    [InlineData("--EPOCHS", "--epochs")]
    public void Suggestions_find_the_close_name(string typed, string expected) =>
        Assert.Equal(expected, Suggestions.For(typed, ["--workers", "--epochs", "--seed", "train", "status"]).First());

    [Theory]
    [InlineData("--bogus")]
    [InlineData("fly")]
    [InlineData("--s")]
    public void Suggestions_stay_quiet_when_nothing_is_close(string typed) =>
        Assert.Empty(Suggestions.For(typed, ["--workers", "--epochs", "--seed", "--status", "train"]));
}
