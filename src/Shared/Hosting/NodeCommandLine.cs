using System.CommandLine;
using RnnCluster.CommandLine;

namespace RnnCluster.Hosting;

/// <summary>
/// The options every node program takes (<c>rnncluster coordinator</c>, <c>rnncluster-worker</c>):
/// where it listens, whom it joins, its config file and log level. Each falls back to its
/// environment variable (<see cref="NodeOptions"/>). A program adds them to its command with
/// <see cref="AddTo"/> and reads them with <see cref="Read"/>; a new node option is one more field here.
/// </summary>
public sealed class NodeCommandLine
{
    public Option<string?> Host { get; } = CliOptions.Text("--host", "H",
        $"interface to bind (env {NodeOptions.HostVariable}; default 127.0.0.1; 0.0.0.0 = all, then set --public-hostname)");

    public Option<string?> Port { get; }

    public Option<string?> PublicHostname { get; } = CliOptions.Text("--public-hostname", "N",
        $"address other nodes use to reach this node (env {NodeOptions.PublicHostnameVariable}; default: the host)");

    public Option<string[]> Seed { get; } = CliOptions.Repeated("--seed", "ADDRESS",
        $"seed node, akka.tcp://rnncluster@host:port or host:port; repeat or separate with commas (env {NodeOptions.SeedsVariable}, comma-separated)");

    public Option<string?> Config { get; } = CliOptions.Text("--config", "FILE",
        $"HOCON file overriding built-in settings (env {NodeOptions.ConfigVariable})");

    public Option<string?> TlsDirectory { get; } = CliOptions.Text("--tls-dir", "DIR",
        $"mutual TLS with the certificates in DIR: ca.crt, tls.crt, tls.key (env {NodeOptions.TlsDirectoryVariable}; make them with 'rnncluster certs'; " +
        $"hostname validation: env {Security.TlsIdentity.ValidateHostnameVariable}=on)");

    public Option<string?> LogLevel { get; } = CliOptions.Text("--log-level", "LEVEL", "trace, debug, info (default), warning, error");

    private readonly int _defaultPort;

    /// <param name="defaultPort">The port when neither --port nor the environment gives one (0: any free port).</param>
    public NodeCommandLine(int defaultPort)
    {
        _defaultPort = defaultPort;
        Port = CliOptions.Text("--port", "P", $"TCP port (env {NodeOptions.PortVariable}; default {defaultPort}{(defaultPort == 0 ? ": any free port" : "; 0 = any free port")})");
    }

    public IEnumerable<Option> All => [Host, Port, PublicHostname, Seed, Config, TlsDirectory, LogLevel];

    public void AddTo(Command command)
    {
        foreach (var option in All) command.Add(option);
    }

    /// <exception cref="NodeOptionsException">A value (or its environment variable) is malformed.</exception>
    public NodeOptions Read(ParseResult result, Func<string, string?>? environment = null) => NodeOptions.Resolve(
        result.GetValue(Host), result.GetValue(Port), result.GetValue(PublicHostname), result.GetValue(Seed) ?? [], result.GetValue(Config),
        _defaultPort, environment, result.GetValue(TlsDirectory));

    /// <exception cref="NodeOptionsException">--log-level is not one of the levels.</exception>
    public Microsoft.Extensions.Logging.LogLevel ReadLogLevel(ParseResult result) => NodeProgram.ParseLogLevel(result.GetValue(LogLevel));
}
