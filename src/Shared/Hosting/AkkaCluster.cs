using Akka.Actor;
using Akka.Actor.Setup;
using Akka.Cluster.Tools.Client;
using Akka.Cluster.Tools.PublishSubscribe;
using Akka.Cluster.Tools.Singleton;
using Akka.Configuration;
using Microsoft.Extensions.Logging;
using RnnCluster.Security;

namespace RnnCluster.Hosting;

/// <summary>
/// The cluster's configuration in code, shared by the node programs, the remote client and the
/// tests: Akka.Cluster with roles <see cref="CoordinatorRole"/> and <see cref="WorkerRole"/>,
/// remoting with one modest <see cref="MaximumFrameSize"/> on every node (large messages travel in
/// chunks, see <see cref="Transport.Transfer"/>), the split-brain resolver, strict binary
/// serialization, and the transfer settings.
/// </summary>
/// <remarks>
/// <para>Split brain: keep-majority counted over the <see cref="CoordinatorRole"/> only. The side of a
/// partition that holds the majority of coordinator nodes (with one coordinator node: the side that
/// has it) stays; every other side downs itself. So a dying worker, however many workers there
/// are, can never make the coordinator down itself (the trap of plain keep-majority in a
/// two-node cluster); a worker cut off from the coordinator downs itself, exits, and is restarted
/// by its supervisor (compose, Kubernetes) to join again. On an even split of several coordinator
/// nodes, the side with the lowest address wins.</para>
/// <para>Plain HOCON built in code rather than Akka.Hosting: the actor tests and local mode already
/// build their systems from <see cref="AkkaConfig"/>'s <see cref="Config"/> with
/// <c>ActorSystem.Create</c> and the TestKit, the cluster tests start several systems in one
/// process on port 0, and the programs are plain console programs with their own argument
/// parsing; one configuration path (this class) serves all of them without an IHost.</para>
/// </remarks>
public static class AkkaCluster
{
    public const string SystemName = "rnncluster";
    public const string ClientSystemName = "rnncluster-client";
    public const string CoordinatorRole = "coordinator";
    public const string WorkerRole = "worker";
    public const int DefaultCoordinatorPort = 4053;

    /// <summary>The same on every node: an oversized receive closes the connection.</summary>
    public const string MaximumFrameSize = "256000b";

    /// <summary>The cluster singleton manager of the coordinator (on coordinator nodes): <c>/user/coordinator-singleton</c>.</summary>
    public const string SingletonManagerName = "coordinator-singleton";

    /// <summary>The singleton's own name under its manager: <c>/user/coordinator-singleton/coordinator</c>.</summary>
    public const string SingletonName = "coordinator";

    /// <summary>The singleton proxy on every node: <c>/user/coordinator-proxy</c>.</summary>
    public const string ProxyName = "coordinator-proxy";

    /// <summary>The clients' entry on coordinator nodes, registered with the receptionist: <c>/user/coordinator-relay</c>.</summary>
    public const string RelayName = "coordinator-relay";

    public static string RelayPath => "/user/" + RelayName;

    /// <summary>Configuration of a cluster node with <paramref name="role"/>; the options' config file, if any, overrides it.</summary>
    public static Config Node(NodeOptions options, string role, string logLevel = "INFO")
    {
        var config = ConfigurationFactory.ParseString($$"""
            akka {
              loglevel = {{logLevel}}
              log-dead-letters = 10
              log-dead-letters-during-shutdown = off
              actor.provider = cluster
              remote {
                log-remote-lifecycle-events = WARNING
                dot-netty.tcp {
                  hostname = {{Quote(options.Host)}}
                  port = {{options.Port}}
                  {{(options.PublicHostname is null ? "" : $"public-hostname = {Quote(options.PublicHostname)}")}}
                  maximum-frame-size = {{MaximumFrameSize}}
                }
              }
              cluster {
                roles = [{{role}}]
                seed-nodes = [{{string.Join(", ", options.Seeds.Select(s => Quote(ForTransport(s, options.TlsDirectory is not null).ToString())))}}]
                log-info-verbose = off
                downing-provider-class = "Akka.Cluster.SBR.SplitBrainResolverProvider, Akka.Cluster"
                split-brain-resolver {
                  active-strategy = keep-majority
                  stable-after = 20s
                  keep-majority.role = {{CoordinatorRole}}
                }
                run-coordinated-shutdown-when-down = on
                client.receptionist.role = {{CoordinatorRole}}
                singleton.role = {{CoordinatorRole}}
                singleton-proxy.role = {{CoordinatorRole}}
                # Akka 1.5.73 logs "failed to find ... after 30 seconds" at start-up, before any
                # 30 s have passed; the coordinator relay reports a singleton that stays missing.
                singleton-proxy.log-singleton-identification-failure = false
              }
            }
            rnncluster.role = {{role}}
            """)
            .WithFallback(Tls(options))
            .WithFallback(Common());
        return WithFile(config, options.ConfigFile);
    }

    /// <summary>
    /// Configuration of a client outside the cluster: remoting only (no membership), reaching the
    /// coordinator through ClusterClient and the coordinator's receptionist.
    /// </summary>
    public static Config Client(NodeOptions options, string logLevel = "WARNING")
    {
        var config = ConfigurationFactory.ParseString($$"""
            akka {
              loglevel = {{logLevel}}
              log-dead-letters = off
              log-dead-letters-during-shutdown = off
              actor.provider = remote
              remote {
                log-remote-lifecycle-events = off
                dot-netty.tcp {
                  hostname = {{Quote(options.Host)}}
                  port = {{options.Port}}
                  {{(options.PublicHostname is null ? "" : $"public-hostname = {Quote(options.PublicHostname)}")}}
                  maximum-frame-size = {{MaximumFrameSize}}
                }
              }
              cluster.client {
                establishing-get-contacts-interval = 1s
                reconnect-timeout = off
              }
            }
            rnncluster.role = client
            """)
            .WithFallback(Tls(options))
            .WithFallback(Common());
        return WithFile(config, options.ConfigFile);
    }

    /// <summary>
    /// Fast membership for in-process tests: gossip, heartbeats and the split-brain resolver in
    /// fractions of a second to a few seconds. Put it in front of <see cref="Node"/>.
    /// </summary>
    public static Config FastFailureDetection() => ConfigurationFactory.ParseString("""
        akka.cluster {
          periodic-tasks-initial-delay = 100ms
          gossip-interval = 200ms
          leader-actions-interval = 200ms
          unreachable-nodes-reaper-interval = 200ms
          retry-unsuccessful-join-after = 1s
          failure-detector {
            heartbeat-interval = 300ms
            acceptable-heartbeat-pause = 2s
            expected-response-after = 300ms
          }
          split-brain-resolver.stable-after = 2s
          singleton.hand-over-retry-interval = 200ms
          singleton-proxy.singleton-identification-interval = 200ms
        }
        akka.remote.retry-gate-closed-for = 200ms
        akka.coordinated-shutdown.phases.cluster-exiting.timeout = 2s
        akka.cluster.client.establishing-get-contacts-interval = 300ms
        """);

    /// <summary>Props of a proxy to the coordinator singleton (every node starts one as <see cref="ProxyName"/>).</summary>
    public static Props CoordinatorProxyProps(ActorSystem system) =>
        ClusterSingletonProxy.Props(
            $"/user/{SingletonManagerName}",
            ClusterSingletonProxySettings.Create(system).WithRole(CoordinatorRole).WithSingletonName(SingletonName));

    /// <summary>
    /// Creates a node or client system; with <paramref name="loggerFactory"/>, Akka's log goes
    /// through it (<see cref="MicrosoftLoggingLogger"/>, every line naming the node).
    /// </summary>
    public static ActorSystem Create(string name, Config config, ILoggerFactory? loggerFactory = null)
    {
        var bootstrap = BootstrapSetup.Create();
        var setups = new List<Setup>();
        if (TlsSetup(config) is { } tls) setups.AddRange([tls.Transport, tls.Identity]);
        if (loggerFactory is not null)
        {
            config = ConfigurationFactory.ParseString(
                    $"akka.loggers = [\"{typeof(MicrosoftLoggingLogger).FullName}, {typeof(MicrosoftLoggingLogger).Assembly.GetName().Name}\"]")
                .WithFallback(config);
            setups.Add(new LoggerFactorySetup(loggerFactory));
        }
        var system = ActorSystem.Create(name, ActorSystemSetup.Create([bootstrap.WithConfig(config), .. setups]));
        if (system.Settings.Config.GetString("akka.actor.provider", "") == "cluster") MemberVerification.StartGuardIfEnabled(system);
        return system;
    }

    /// <summary><c>akka.ssl.tcp</c> with TLS, <c>akka.tcp</c> without: the transport's scheme is part of every node address.</summary>
    public static string Protocol(bool tls) => tls ? "akka.ssl.tcp" : "akka.tcp";

    /// <summary><paramref name="address"/> with the scheme of the transport (<see cref="Protocol"/>).</summary>
    public static Address ForTransport(Address address, bool tls) =>
        new(Protocol(tls), address.System, address.Host, address.Port);

    /// <summary>
    /// Mutual TLS (<see cref="RemotingTls"/>) when the options name a TLS folder: the transport's
    /// settings, and <c>rnncluster.tls.directory</c> / <c>validate-hostname</c>, from which
    /// <see cref="Create"/> loads the identity and builds the validator. Empty without TLS.
    /// </summary>
    private static Config Tls(NodeOptions options)
    {
        if (options.TlsDirectory is null) return Config.Empty;
        return ConfigurationFactory.ParseString($$"""
                rnncluster.tls {
                  directory = {{Quote(options.TlsDirectory)}}
                  validate-hostname = {{(options.ValidateHostname ? "on" : "off")}}
                }
                """)
            .WithFallback(RemotingTls.Hocon(options.ValidateHostname));
    }

    /// <summary>
    /// The TLS setups of a system whose configuration names a TLS folder: loads the identity,
    /// checks that its certificate is for the program's role (<c>rnncluster.role</c>) and pairs
    /// the transport setup with the validator of <see cref="TlsPeerPolicy.For"/> that role.
    /// </summary>
    private static ActorSetupPair? TlsSetup(Config config)
    {
        var directory = config.GetString("rnncluster.tls.directory", null);
        if (string.IsNullOrEmpty(directory)) return null;
        var identity = TlsIdentity.Load(directory, config.GetBoolean("rnncluster.tls.validate-hostname", false));
        var role = config.GetString("rnncluster.role", null) switch
        {
            "client" => ClusterRole.Client,
            CoordinatorRole => ClusterRole.Coordinator,
            WorkerRole => ClusterRole.Worker,
            var other => throw new CertificateException($"rnncluster.role '{other}' has no certificate role"),
        };
        identity.Require(role, role == ClusterRole.Client ? "a client" : $"a {ClusterRoles.Name(role)} node");
        return RemotingTls.Setup(identity, TlsPeerPolicy.For(role));
    }

    /// <summary>Strict binary serialization, the dispatchers, and the defaults of the cluster tools.</summary>
    private static Config Common() =>
        AkkaConfig.Serialization(serializeMessages: false)
            .WithFallback(AkkaConfig.Dispatchers())
            .WithFallback(ConfigurationFactory.ParseString($$"""
                rnncluster.transfer {
                  carrier = socket
                  chunk-size = {{Transport.TransferSettings.DefaultChunkSize}}b
                  window = {{Transport.TransferSettings.DefaultWindow}}
                  timeout = 30s
                }
                """))
            .WithFallback(ClusterClientReceptionist.DefaultConfig())
            .WithFallback(DistributedPubSub.DefaultConfig())
            .WithFallback(ClusterSingleton.DefaultConfig());

    private static Config WithFile(Config config, string? file)
    {
        if (file is null) return config;
        Config fromFile;
        try
        {
            fromFile = ConfigurationFactory.ParseString(File.ReadAllText(file));
        }
        catch (Exception e) when (e is not IOException)
        {
            throw new NodeOptionsException($"config file '{file}': {e.Message.Split('\n')[0]}");
        }
        return fromFile.WithFallback(config);
    }

    private static string Quote(string value) => "\"" + value.Replace("\\", "\\\\").Replace("\"", "\\\"") + "\"";
}
