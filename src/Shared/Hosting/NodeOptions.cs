using Akka.Actor;
using RnnCluster.CommandLine;

namespace RnnCluster.Hosting;

/// <summary>A wrong node option or environment variable: one line, the program exits with code 2.</summary>
public sealed class NodeOptionsException(string message) : UsageException(message);

/// <summary>
/// Where a node listens and whom it joins (options: <see cref="NodeCommandLine"/>). Each value comes from its command-line option, else its
/// environment variable, else the default:
/// <list type="table">
/// <item><term><c>--host</c> / <c>RNNCLUSTER_HOST</c></term><description>interface to bind (default 127.0.0.1; 0.0.0.0 for all, then give a public hostname)</description></item>
/// <item><term><c>--port</c> / <c>RNNCLUSTER_PORT</c></term><description>TCP port (0: any free port)</description></item>
/// <item><term><c>--public-hostname</c> / <c>RNNCLUSTER_PUBLIC_HOSTNAME</c></term><description>the name or address other nodes use to reach this one (default: the host)</description></item>
/// <item><term><c>--seed</c> (repeatable, or comma-separated) / <c>RNNCLUSTER_SEEDS</c> (comma-separated)</term><description>seed nodes, <c>akka.tcp://rnncluster@host:port</c> or <c>host:port</c></description></item>
/// <item><term><c>--config</c> / <c>RNNCLUSTER_CONFIG</c></term><description>a HOCON file whose settings override the built-in ones (any <c>akka.*</c> or <c>rnncluster.*</c> key)</description></item>
/// </list>
/// </summary>
public sealed record NodeOptions
{
    public const string HostVariable = "RNNCLUSTER_HOST";
    public const string PortVariable = "RNNCLUSTER_PORT";
    public const string PublicHostnameVariable = "RNNCLUSTER_PUBLIC_HOSTNAME";
    public const string SeedsVariable = "RNNCLUSTER_SEEDS";
    public const string ConfigVariable = "RNNCLUSTER_CONFIG";
    public const string TlsDirectoryVariable = Security.TlsIdentity.DirectoryVariable;

    /// <summary>Every environment variable a node program reads (the deploy files may set only these and the math ones).</summary>
    public static IReadOnlyList<string> EnvironmentVariables { get; } =
        [HostVariable, PortVariable, PublicHostnameVariable, SeedsVariable, ConfigVariable, TlsDirectoryVariable, Security.TlsIdentity.ValidateHostnameVariable];

    public string Host { get; init; } = "127.0.0.1";
    public int Port { get; init; }
    public string? PublicHostname { get; init; }
    public IReadOnlyList<Address> Seeds { get; init; } = [];
    public string? ConfigFile { get; init; }

    /// <summary>The TLS folder (<c>--tls-dir</c> / <see cref="TlsDirectoryVariable"/>); null: plain TCP.</summary>
    public string? TlsDirectory { get; init; }

    /// <summary>With TLS, outbound connections also check the server certificate's host names (<see cref="Security.TlsIdentity.ValidateHostnameVariable"/>).</summary>
    public bool ValidateHostname { get; init; }

    /// <summary>The host other nodes use: the public hostname, else the bound host.</summary>
    public string ReachableHost => PublicHostname ?? Host;

    /// <summary>
    /// The node options from the values given on the command line (null or empty: not given), each
    /// falling back to its environment variable and then to the default (<paramref name="defaultPort"/>
    /// for the port); checks them.
    /// </summary>
    /// <exception cref="NodeOptionsException">A value is malformed, or the combination is not usable.</exception>
    public static NodeOptions Resolve(string? host, string? port, string? publicHostname, IReadOnlyList<string> seeds, string? config,
                                      int defaultPort, Func<string, string?>? environment = null, string? tlsDirectory = null)
    {
        environment ??= Environment.GetEnvironmentVariable;
        seeds = [.. seeds];
        host ??= NonEmpty(environment(HostVariable));
        port ??= NonEmpty(environment(PortVariable));
        publicHostname ??= NonEmpty(environment(PublicHostnameVariable));
        config ??= NonEmpty(environment(ConfigVariable));
        tlsDirectory ??= NonEmpty(environment(TlsDirectoryVariable));
        if (seeds.Count == 0 && NonEmpty(environment(SeedsVariable)) is { } fromEnvironment) seeds = [fromEnvironment];

        int portNumber = defaultPort;
        if (port is not null && (!int.TryParse(port, out portNumber) || portNumber is < 0 or > 65535))
            throw new NodeOptionsException($"port must be a number from 0 to 65535, got '{port}'");
        if (host is not null && string.IsNullOrWhiteSpace(host)) throw new NodeOptionsException("--host is empty");
        if (config is not null && !File.Exists(config)) throw new NodeOptionsException($"config file '{config}' does not exist");
        var options = new NodeOptions
        {
            Host = host ?? "127.0.0.1",
            Port = portNumber,
            PublicHostname = publicHostname,
            Seeds = [.. seeds.SelectMany(s => s.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).Select(ParseSeed)],
            ConfigFile = config,
            TlsDirectory = tlsDirectory,
            ValidateHostname = Security.TlsIdentity.ValidateHostnameFromEnvironment(environment),
        };
        if (options.Host is "0.0.0.0" or "::" && options.PublicHostname is null)
            throw new NodeOptionsException($"--host {options.Host} binds every interface: give --public-hostname (the address other nodes reach this one at)");
        return options;
    }

    /// <summary>
    /// Fails with a clear message when <see cref="Port"/> is already taken on <see cref="Host"/>
    /// (the remoting transport reuses addresses, so a second node on the same port would otherwise
    /// start and never hear from anyone). Port 0 is always free.
    /// </summary>
    public void CheckPortIsFree()
    {
        if (Port == 0) return;
        System.Net.IPAddress address;
        if (!System.Net.IPAddress.TryParse(Host, out address!))
        {
            try
            {
                address = System.Net.Dns.GetHostAddresses(Host).FirstOrDefault() ?? System.Net.IPAddress.Loopback;
            }
            catch (System.Net.Sockets.SocketException e)
            {
                throw new NodeOptionsException($"--host {Host}: {e.Message}");
            }
        }
        try
        {
            var listener = new System.Net.Sockets.TcpListener(address, Port) { ExclusiveAddressUse = true };
            listener.Start();
            listener.Stop();
        }
        catch (System.Net.Sockets.SocketException e)
        {
            throw new NodeOptionsException($"cannot listen on {Host}:{Port}: {e.Message} (another node running there?)");
        }
    }

    /// <summary><c>akka.tcp://rnncluster@host:port</c> (a trailing path is ignored) or <c>host:port</c>.</summary>
    public static Address ParseSeed(string text)
    {
        var s = text.Trim();
        if (!s.Contains("://", StringComparison.Ordinal)) s = $"akka.tcp://{AkkaCluster.SystemName}@{s}";
        Address address;
        try
        {
            address = Address.Parse(s);
        }
        catch (Exception e) when (e is UriFormatException or ArgumentException or FormatException)
        {
            throw new NodeOptionsException($"'{text}' is not a node address (expected akka.tcp://{AkkaCluster.SystemName}@host:port or host:port)");
        }
        if (address.Host is null || address.Port is null or <= 0)
            throw new NodeOptionsException($"'{text}' is not a node address: it needs a host and a port");
        if (address.Protocol is not ("akka.tcp" or "akka.ssl.tcp"))
            throw new NodeOptionsException($"'{text}': only akka.tcp (and, with TLS, akka.ssl.tcp) addresses are supported");
        if (address.System != AkkaCluster.SystemName)
            throw new NodeOptionsException($"'{text}' names the actor system '{address.System}'; the cluster's is '{AkkaCluster.SystemName}'");
        return address;
    }

    private static string? NonEmpty(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();
}
