using System.CommandLine;
using Akka.Actor;
using RnnCluster.CommandLine;
using RnnCluster.Hosting;
using RnnCluster.Transport;

namespace RnnCluster.Coordinator.Cli;

/// <summary>
/// How a client command (<c>submit</c>, <c>status</c>) reaches a running cluster: <c>--contact</c>
/// (else <c>RNNCLUSTER_CONTACT</c>), <c>--timeout</c> and, for commands the cluster talks back to
/// for long, this client's own address (<c>--host</c>, <c>--public-hostname</c>, <c>--port</c>).
/// </summary>
public sealed class ClusterContact
{
    public const string ContactVariable = "RNNCLUSTER_CONTACT";

    public Option<string?> Contact { get; } = CliOptions.Text("--contact", "ADDRESS",
        $"a coordinator node, akka.tcp://rnncluster@HOST:PORT or HOST:PORT; several separated by commas (required unless env {ContactVariable} is set)");

    public Option<int?> Timeout { get; } = CliOptions.Int("--timeout", "S", "seconds to wait for the coordinator to answer (default 15)", min: 1);

    public Option<string?> TlsDirectory { get; } = CliOptions.Text("--tls-dir", "DIR",
        $"mutual TLS with the client certificate in DIR: ca.crt, tls.crt, tls.key (env {NodeOptions.TlsDirectoryVariable}; 'rnncluster certs client NAME')");

    private readonly Option<string?>? _host;
    private readonly Option<string?>? _publicHostname;
    private readonly Option<int?>? _port;

    /// <param name="clientAddress">Whether the command takes this client's own --host, --public-hostname and --port.</param>
    public ClusterContact(bool clientAddress)
    {
        if (!clientAddress) return;
        _host = CliOptions.Text("--host", "H", "this client's interface (default 127.0.0.1); the coordinator and the workers connect back to it");
        _publicHostname = CliOptions.Text("--public-hostname", "N", "the address they reach this client at (default: the host)");
        _port = CliOptions.Int("--port", "P", "this client's port (default 0: any free port)", min: 0);
    }

    public void AddTo(Command command)
    {
        command.Add(Contact);
        command.Add(Timeout);
        command.Add(TlsDirectory);
        if (_host is not null) command.Add(_host);
        if (_publicHostname is not null) command.Add(_publicHostname);
        if (_port is not null) command.Add(_port);
    }

    /// <summary>The coordinator addresses to contact.</summary>
    /// <exception cref="UsageException">None given, or one is not a node address.</exception>
    public IReadOnlyList<Address> Contacts(ParseResult result)
    {
        var text = result.GetValue(Contact) ?? Environment.GetEnvironmentVariable(ContactVariable);
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

    /// <summary>The TLS folder from --tls-dir, else the environment; null: plain TCP.</summary>
    public string? TlsFolder(ParseResult result) =>
        result.GetValue(TlsDirectory) is { Length: > 0 } given ? given
        : Environment.GetEnvironmentVariable(NodeOptions.TlsDirectoryVariable) is { } env && !string.IsNullOrWhiteSpace(env) ? env.Trim() : null;

    public bool UsesTls(ParseResult result) => TlsFolder(result) is not null;

    /// <summary>Connects to the cluster (the contacts are read first, so a usage mistake is reported before any waiting).</summary>
    public async Task<ClusterConnection> ConnectAsync(ParseResult result, IReadOnlyList<Address> contacts)
    {
        var timeout = TimeSpan.FromSeconds(result.GetValue(Timeout) ?? 15);
        var self = new NodeOptions
        {
            Host = (_host is null ? null : result.GetValue(_host)) ?? "127.0.0.1",
            Port = (_port is null ? null : result.GetValue(_port)) ?? 0,
            PublicHostname = _publicHostname is null ? null : result.GetValue(_publicHostname),
            TlsDirectory = TlsFolder(result),
            ValidateHostname = Security.TlsIdentity.ValidateHostnameFromEnvironment(),
        };
        return await ClusterConnection.ConnectAsync(contacts, self, timeout, askTimeout: TimeSpan.FromSeconds(Math.Max(60, timeout.TotalSeconds)));
    }
}
