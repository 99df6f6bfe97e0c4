using Akka.Actor;
using Akka.Actor.Setup;
using Akka.Event;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Logging.Console;
using Microsoft.Extensions.Options;
using MelLogLevel = Microsoft.Extensions.Logging.LogLevel;

namespace RnnCluster.Hosting;

/// <summary>The <see cref="ILoggerFactory"/> a node's Akka logs go to (an <see cref="ActorSystemSetup"/> part).</summary>
public sealed class LoggerFactorySetup(ILoggerFactory factory) : Setup
{
    public ILoggerFactory Factory { get; } = factory;
}

/// <summary>
/// Akka logger (<c>akka.loggers</c>) that writes every Akka log event to Microsoft.Extensions.Logging
/// through the factory in the system's <see cref="LoggerFactorySetup"/>. The category is the node:
/// its address and role(s), so every line says which node wrote it.
/// </summary>
public sealed class MicrosoftLoggingLogger : ReceiveActor, Akka.Dispatch.IRequiresMessageQueue<ILoggerMessageQueueSemantics>
{
    private readonly Dictionary<string, ILogger> _loggers = [];
    private ILoggerFactory _factory = NullLoggerFactory.Instance;
    private string? _node;

    public MicrosoftLoggingLogger()
    {
        Receive<InitializeLogger>(_ =>
        {
            var setup = Context.System.Settings.Setup.Get<LoggerFactorySetup>();
            if (setup.HasValue) _factory = setup.Value.Factory;
            Sender.Tell(new LoggerInitialized());
        });
        Receive<LogEvent>(Log);
    }

    private void Log(LogEvent e)
    {
        var level = e.LogLevel() switch
        {
            Akka.Event.LogLevel.DebugLevel => MelLogLevel.Debug,
            Akka.Event.LogLevel.InfoLevel => MelLogLevel.Information,
            Akka.Event.LogLevel.WarningLevel => MelLogLevel.Warning,
            _ => MelLogLevel.Error,
        };
        var node = Node();
        if (!_loggers.TryGetValue(node, out var logger)) _loggers[node] = logger = _factory.CreateLogger(node);
        if (!logger.IsEnabled(level)) return;
        var source = ShortSource(e.LogSource);
        string text;
        try
        {
            text = e.Message?.ToString() ?? "";
        }
        catch (FormatException)
        {
            text = e.Message?.GetType().Name ?? "";
        }
#pragma warning disable CA2254 // the text is already formatted by Akka
        logger.Log(level, e.Cause, "{Source}: {Text}", source, text);
#pragma warning restore CA2254
    }

    /// <summary>"akka.tcp://rnncluster@127.0.0.1:4053 [coordinator]"; before remoting has its address, the configured one.</summary>
    private string Node()
    {
        if (_node is not null) return _node;
        var config = Context.System.Settings.Config;
        var roles = config.HasPath("akka.cluster.roles") ? config.GetStringList("akka.cluster.roles") : [];
        var role = roles.Count > 0 ? string.Join(",", roles) : config.GetString("rnncluster.role", "local");
        Address? address = null;
        try
        {
            address = ((ExtendedActorSystem)Context.System).Provider.DefaultAddress;
        }
        catch (Exception)
        {
            // remoting not started yet
        }
        if (address is null || address.HasLocalScope || address.Port is null or 0)
            return $"{Context.System.Name} [{role}]";
        return _node = $"{address} [{role}]";
    }

    private static string ShortSource(string source)
    {
        // "akka.tcp://rnncluster@127.0.0.1:4053/user/coordinator-singleton/coordinator" -> "/user/coordinator-singleton/coordinator"
        int scheme = source.IndexOf("://", StringComparison.Ordinal);
        if (scheme < 0) return source;
        int path = source.IndexOf('/', scheme + 3);
        return path < 0 ? source : source[path..];
    }
}

/// <summary>One line per event: time, level, node (address and role), source, message; exceptions below it.</summary>
public sealed class NodeLogFormatter() : ConsoleFormatter(Name)
{
    public new const string Name = "rnncluster";

    public override void Write<TState>(in LogEntry<TState> logEntry, IExternalScopeProvider? scopeProvider, TextWriter textWriter)
    {
        var message = logEntry.Formatter?.Invoke(logEntry.State, logEntry.Exception);
        if (message is null && logEntry.Exception is null) return;
        var level = logEntry.LogLevel switch
        {
            MelLogLevel.Trace => "TRACE",
            MelLogLevel.Debug => "DEBUG",
            MelLogLevel.Information => "INFO ",
            MelLogLevel.Warning => "WARN ",
            MelLogLevel.Error => "ERROR",
            _ => "CRIT ",
        };
        textWriter.Write(DateTime.UtcNow.ToString("HH:mm:ss.fff", System.Globalization.CultureInfo.InvariantCulture));
        textWriter.Write(' ');
        textWriter.Write(level);
        textWriter.Write(' ');
        textWriter.Write(logEntry.Category);
        textWriter.Write(' ');
        textWriter.WriteLine(message);
        if (logEntry.Exception is not null) textWriter.WriteLine(logEntry.Exception.ToString());
    }
}

/// <summary>The console logger factory of the node programs.</summary>
public static class NodeLogging
{
    /// <summary>
    /// A factory writing <see cref="NodeLogFormatter"/> lines at <paramref name="minimum"/> and
    /// above, to stderr when <paramref name="toStandardError"/> (clients: stdout is the program's
    /// output), else to stdout. Dispose it at exit to flush.
    /// </summary>
    public static ILoggerFactory CreateConsoleFactory(MelLogLevel minimum, bool toStandardError) =>
        LoggerFactory.Create(builder => builder
            .SetMinimumLevel(minimum)
            .AddConsole(o =>
            {
                o.FormatterName = NodeLogFormatter.Name;
                o.LogToStandardErrorThreshold = toStandardError ? MelLogLevel.Trace : MelLogLevel.None;
            })
            .AddConsoleFormatter<NodeLogFormatter, ConsoleFormatterOptions>());

    /// <summary>Akka's <c>akka.loglevel</c> name for a Microsoft.Extensions.Logging level.</summary>
    public static string AkkaLevel(MelLogLevel level) => level switch
    {
        MelLogLevel.Trace or MelLogLevel.Debug => "DEBUG",
        MelLogLevel.Information => "INFO",
        MelLogLevel.Warning => "WARNING",
        _ => "ERROR",
    };
}
