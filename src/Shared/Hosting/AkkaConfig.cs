using Akka.Actor;
using Akka.Configuration;
using RnnCluster.Protocol;

namespace RnnCluster.Hosting;

/// <summary>
/// Akka configured in code, once, for the programs and the tests alike. Every actor test builds
/// its system from <see cref="ForTests"/>, so messages are serialized in-process exactly as they
/// would be between nodes.
/// </summary>
public static class AkkaConfig
{
    /// <summary>Pinned dispatcher (one dedicated thread per actor) for the worker's compute.</summary>
    public const string WorkerDispatcher = "rnncluster-worker-dispatcher";

    /// <summary>Pinned dispatcher (one dedicated thread per actor) for a job's coordinator actor.</summary>
    public const string JobDispatcher = "rnncluster-job-dispatcher";

    /// <summary>Pinned dispatcher of the node's transfer actor (chunking and reassembly of large messages).</summary>
    public const string TransferDispatcher = "rnncluster-transfer-dispatcher";

    /// <summary>Name of <see cref="ProtocolSerializer"/> under <c>akka.actor.serializers</c>.</summary>
    public const string SerializerName = "rnncluster";

    /// <summary>
    /// Binds <see cref="ProtocolSerializer"/> to <see cref="IProtocolMessage"/> (name
    /// <see cref="SerializerName"/>, identifier <see cref="ProtocolSerializer.Id"/>).
    /// <paramref name="serializeMessages"/> turns on <c>akka.actor.serialize-messages</c>: every
    /// local message is serialized and deserialized as if it crossed nodes (tests).
    /// </summary>
    /// <remarks>
    /// <para><c>akka.actor.serialization-settings.allow-unregistered-types</c> (Akka.NET 1.5.66+):
    /// off, a type without an explicit binding throws SerializationException instead of silently
    /// travelling as Newtonsoft JSON through the <c>"System.Object" = json</c> binding.</para>
    /// <para>It is off exactly when serialize-messages is off (the programs). With both on, Akka.NET
    /// 1.5.73 drops its own local messages, which have no binding without remoting and are not
    /// marked <see cref="INoSerializationVerificationNeeded"/>: <c>StopChild</c> (so
    /// <c>Sys.Stop</c> never stops anything), <c>PoisonPill</c>, <c>Kill</c>,
    /// <c>RegisterTerminationHook</c>, Akka.Cluster's <c>InternalClusterAction.Subscribe</c>,
    /// strings and ints; each is logged as "Swallowing exception during message send" and lost.
    /// So the tests keep the JSON fallback for such local messages, and instead assert that every
    /// <see cref="IProtocolMessage"/> type resolves to <see cref="ProtocolSerializer"/>.</para>
    /// <para>Also under serialize-messages without Akka.Remote loaded, <c>Status.Failure</c> (what
    /// <c>PipeTo</c> sends for a faulted task) cannot be round-tripped through JSON and is dropped:
    /// map failures to a message of your own (<c>PipeTo(self, success: ..., failure: ...)</c>),
    /// and mark actor-internal messages <see cref="INoSerializationVerificationNeeded"/>.</para>
    /// </remarks>
    public static Config Serialization(bool serializeMessages) =>
        ConfigurationFactory.ParseString($$"""
            akka.actor {
              serializers {
                {{SerializerName}} = "{{TypeName(typeof(ProtocolSerializer))}}"
              }
              serialization-bindings {
                "{{TypeName(typeof(IProtocolMessage))}}" = {{SerializerName}}
              }
              serialization-identifiers {
                "{{TypeName(typeof(ProtocolSerializer))}}" = {{ProtocolSerializer.Id}}
              }
              serialization-settings {
                allow-unregistered-types = {{(serializeMessages ? "true" : "false")}}
              }
              serialize-messages = {{(serializeMessages ? "on" : "off")}}
            }
            """);

    /// <summary>
    /// The <see cref="WorkerDispatcher"/> and <see cref="JobDispatcher"/>: PinnedDispatchers, so
    /// long compute runs on a thread of its own, off the default dispatcher.
    /// Use with <c>Props.WithDispatcher(AkkaConfig.WorkerDispatcher)</c>.
    /// </summary>
    public static Config Dispatchers() =>
        ConfigurationFactory.ParseString($$"""
            {{WorkerDispatcher}} {
              type = PinnedDispatcher
              executor = fork-join-executor
            }
            {{JobDispatcher}} {
              type = PinnedDispatcher
              executor = fork-join-executor
            }
            {{TransferDispatcher}} {
              type = PinnedDispatcher
              executor = fork-join-executor
            }
            """);

    /// <summary>
    /// Configuration of a process-local system: Akka's default logger (whatever
    /// <c>akka.loggers</c> names; the reference value is <c>Akka.Event.DefaultLogger</c>) at INFO,
    /// no dead-letter noise during shutdown, plus <see cref="Serialization"/> and
    /// <see cref="Dispatchers"/>.
    /// </summary>
    /// <remarks>
    /// Akka's reference configuration is deliberately not folded in here: <c>ActorSystem.Create</c>
    /// puts it last as the fallback itself, and the TestKit puts its own reference configuration
    /// (<c>akka.loggers = [TestEventListener]</c>, needed by EventFilter) between ours and Akka's.
    /// Folding Akka's defaults in here would shadow the TestKit's.
    /// </remarks>
    public static Config Local(bool serializeMessages) =>
        ConfigurationFactory.ParseString("""
            akka {
              loglevel = INFO
              log-dead-letters-during-shutdown = off
            }
            """)
            .WithFallback(Serialization(serializeMessages))
            .WithFallback(Dispatchers());

    /// <summary>A process-local actor system with <see cref="Local"/> over Akka's defaults.</summary>
    public static ActorSystem CreateLocalSystem(string name, bool serializeMessages = false) =>
        ActorSystem.Create(name, Local(serializeMessages));

    /// <summary>The configuration every actor test uses: <see cref="Local"/> with serialize-messages on.</summary>
    public static Config ForTests() => Local(serializeMessages: true);

    private static string TypeName(Type type) => $"{type.FullName}, {type.Assembly.GetName().Name}";
}
