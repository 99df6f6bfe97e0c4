using Akka.Actor;
using RnnCluster.Client;
using RnnCluster.Hosting;
using RnnCluster.Jobs;
using RnnCluster.Model;
using RnnCluster.Protocol;
using RnnCluster.Transport;

namespace RnnCluster.Coordinator.Cli;

/// <summary>
/// <c>rnncluster submit [JOB] --contact ADDRESS [--out DIR] [--timeout S] ...</c>: loads the job's
/// data here, starts the job on a running cluster through ClusterClient, follows its progress and
/// writes the outputs, as <c>train</c> does in local mode.
/// </summary>
public static class SubmitCommand
{
    public const string ContactVariable = "RNNCLUSTER_CONTACT";

    public const string Usage = """
        usage: rnncluster submit [JOB] --contact ADDRESS [options]

        Starts JOB (default: the built-in default job) on a running cluster and follows it: the
        data is loaded and checked here and sent with the job; the progress bar and the outputs are
        those of 'rnncluster train'.

          --contact ADDRESS    a coordinator node, akka.tcp://rnncluster@HOST:PORT or HOST:PORT;
                               several separated by commas (env RNNCLUSTER_CONTACT)
          --out DIR            write weights.npz, model.json, metrics.csv and loss.png
          --timeout S          seconds to wait for the coordinator to answer (default 15)
          --seed S             override the job's seed
          --epochs E           override the job's epochs
          --min-workers N      override the job's min_workers (the job waits for N workers)
          --host H             this client's interface (default 127.0.0.1); the coordinator and the
                               workers connect back to it
          --public-hostname N  the address they reach this client at (default: the host)
          --port P             this client's port (default 0: any free port)
          --tls-dir DIR        mutual TLS with the client certificate in DIR (ca.crt, tls.crt, tls.key;
                               env RNNCLUSTER_TLS_DIR; 'rnncluster certs client NAME')
          --help               this text
        """;

    public const string StatusUsage = """
        usage: rnncluster status --contact ADDRESS [--timeout S] [--tls-dir DIR]

        Prints the live workers and the jobs of a running cluster: "workers N" and "jobs A,B".
        """;

    private static readonly HashSet<string> ValueOptions = ["contact", "out", "timeout", "seed", "epochs", "min-workers", "host", "public-hostname", "port", "tls-dir"];
    private static readonly HashSet<string> StatusValueOptions = ["contact", "timeout", "tls-dir"];
    private static readonly HashSet<string> Flags = ["help"];

    public static async Task<int> RunAsync(IEnumerable<string> args, TextWriter output)
    {
        var a = new CliArguments(args, ValueOptions, Flags);
        if (a.Has("help"))
        {
            output.WriteLine(Usage);
            return 0;
        }
        var contacts = Contacts(a);
        var timeout = Timeout(a);
        var job = JobFiles.FromArguments(a);
        if (a.Int("min-workers", min: 1) is { } minWorkers) job = job with { MinWorkers = minWorkers };
        var data = JobFiles.LoadData(job);
        var tls = a.Value("tls-dir") ?? Environment.GetEnvironmentVariable(NodeOptions.TlsDirectoryVariable);
        output.WriteLine($"job '{job.Name}': {data.Description}; {job.Epochs} epochs of batch {job.BatchSize}; " +
                         $"cluster at {string.Join(", ", contacts.Select(c => AkkaCluster.ForTransport(c, !string.IsNullOrWhiteSpace(tls))))}");

        await using var connection = await ConnectAsync(a, contacts, timeout);
        using var handle = await connection.Client.StartWatchedJobAsync(job, data);
        output.WriteLine($"job {handle.JobId} started");
        return await JobFollower.FollowAsync(handle, job, data, a.Value("out"), output, connection.Lost);
    }

    /// <summary><c>rnncluster status --contact ADDRESS</c>: workers and jobs of a running cluster.</summary>
    public static async Task<int> StatusAsync(IEnumerable<string> args, TextWriter output)
    {
        var a = new CliArguments(args, StatusValueOptions, Flags);
        if (a.Has("help"))
        {
            output.WriteLine(StatusUsage);
            return 0;
        }
        if (a.Positional.Count > 0) throw new UsageException($"unexpected argument '{a.Positional[0]}'");
        await using var connection = await ConnectAsync(a, Contacts(a), Timeout(a));
        var status = await connection.Client.GetClusterStatusAsync();
        output.WriteLine($"workers {status.Workers}");
        output.WriteLine($"jobs {string.Join(",", status.Jobs)}");
        return 0;
    }

    private static async Task<ClusterConnection> ConnectAsync(CliArguments a, IReadOnlyList<Address> contacts, TimeSpan timeout)
    {
        var self = new NodeOptions
        {
            Host = a.Value("host") ?? "127.0.0.1",
            Port = a.Int("port", min: 0) ?? 0,
            PublicHostname = a.Value("public-hostname"),
            TlsDirectory = a.Value("tls-dir") ?? NonEmpty(Environment.GetEnvironmentVariable(NodeOptions.TlsDirectoryVariable)),
            ValidateHostname = Security.TlsIdentity.ValidateHostnameFromEnvironment(),
        };
        return await ClusterConnection.ConnectAsync(contacts, self, timeout, askTimeout: TimeSpan.FromSeconds(Math.Max(60, timeout.TotalSeconds)));
    }

    private static IReadOnlyList<Address> Contacts(CliArguments a)
    {
        var text = a.Value("contact") ?? Environment.GetEnvironmentVariable(ContactVariable);
        if (string.IsNullOrWhiteSpace(text)) throw new UsageException("--contact is required: a coordinator node's address, e.g. akka.tcp://rnncluster@127.0.0.1:4053");
        try
        {
            return [.. text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(NodeOptions.ParseSeed)];
        }
        catch (NodeOptionsException e)
        {
            throw new UsageException($"--contact: {e.Message}");
        }
    }

    private static string? NonEmpty(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();

    private static TimeSpan Timeout(CliArguments a) => TimeSpan.FromSeconds(a.Int("timeout", min: 1) ?? 15);
}
