using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Xunit;

namespace RnnCluster.Tests.Cluster;

/// <summary>
/// Real OS processes on 127.0.0.1: <c>dotnet rnncluster.dll coordinator</c> and
/// <c>dotnet rnncluster-worker.dll</c> (both are built next to the tests). Every process it starts is
/// killed with its whole tree on dispose, also when start-up fails half way.
/// </summary>
public sealed class ProcessCluster : IAsyncDisposable
{
    public static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);

    private readonly List<RunningProcess> _processes = [];

    public int Port { get; private set; }

    public string Contact => $"akka.tcp://rnncluster@127.0.0.1:{Port}";

    public IReadOnlyList<RunningProcess> Processes => _processes;

    public static string Dll(string name) => Path.Combine(AppContext.BaseDirectory, name + ".dll");

    /// <summary>A coordinator and <paramref name="workers"/> workers (managed math), registered.</summary>
    public static async Task<ProcessCluster> StartAsync(int workers)
    {
        var cluster = new ProcessCluster { Port = FreePort() };
        try
        {
            var coordinator = cluster.Start("rnncluster", "coordinator", "--host", "127.0.0.1", "--port", cluster.Port.ToString());
            await coordinator.WaitForOutputAsync("coordinator node at", StartTimeout);
            for (int i = 0; i < workers; i++)
                cluster.Start("rnncluster-worker", "--seed", $"127.0.0.1:{cluster.Port}", "--math", "managed", "--workers", "1");
            await cluster.WaitForWorkersAsync(workers);
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    public RunningProcess Start(string program, params string[] args)
    {
        var process = RunningProcess.Start(Dll(program), args);
        _processes.Add(process);
        return process;
    }

    /// <summary>Polls <c>rnncluster status</c> until it reports <paramref name="count"/> workers.</summary>
    public async Task WaitForWorkersAsync(int count)
    {
        var deadline = DateTime.UtcNow + StartTimeout;
        string last = "";
        while (DateTime.UtcNow < deadline)
        {
            var status = await RunToEndAsync(TimeSpan.FromSeconds(30), "rnncluster", "status", "--contact", Contact, "--timeout", "5");
            last = status.Output + status.Error;
            if (status.ExitCode == 0 && status.Output.Contains($"workers {count}\n", StringComparison.Ordinal)) return;
            await Task.Delay(500);
        }
        Assert.Fail($"the cluster did not report {count} workers within {StartTimeout.TotalSeconds} s; last status: {last}");
    }

    /// <summary>Runs a program to its end (killed after <paramref name="timeout"/>), returning exit code and output.</summary>
    public static async Task<(int ExitCode, string Output, string Error, TimeSpan Elapsed)> RunToEndAsync(TimeSpan timeout, string program, params string[] args)
    {
        using var process = RunningProcess.Start(Dll(program), args);
        var clock = Stopwatch.StartNew();
        try
        {
            using var cancel = new CancellationTokenSource(timeout);
            await process.Process.WaitForExitAsync(cancel.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill();
            Assert.Fail($"{program} {string.Join(' ', args)} did not end within {timeout.TotalSeconds} s; output so far:\n{process.Output}\n{process.Error}");
        }
        process.Process.WaitForExit(); // drain the output
        return (process.Process.ExitCode, process.Output, process.Error, clock.Elapsed);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var p in Enumerable.Reverse(_processes)) p.Dispose();
        _processes.Clear();
        await Task.CompletedTask;
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

/// <summary>A started <c>dotnet DLL</c> process with its output collected; dispose kills its whole tree.</summary>
public sealed class RunningProcess : IDisposable
{
    private readonly StringBuilder _output = new();
    private readonly StringBuilder _error = new();
    private readonly ConcurrentQueue<TaskCompletionSource<bool>> _waiters = new();

    private RunningProcess(Process process) => Process = process;

    public Process Process { get; }

    public string Output
    {
        get { lock (_output) return _output.ToString(); }
    }

    public string Error
    {
        get { lock (_error) return _error.ToString(); }
    }

    public static RunningProcess Start(string dll, params string[] args) => Start(dll, new Dictionary<string, string>(), args);

    /// <param name="environment">Variables set for the child only, after the inherited cluster settings are cleared.</param>
    public static RunningProcess Start(string dll, IReadOnlyDictionary<string, string> environment, params string[] args)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(dll);
        foreach (var a in args) info.ArgumentList.Add(a);
        // The programs read these; the test decides every value itself.
        foreach (var name in new[] { "RNNCLUSTER_SEEDS", "RNNCLUSTER_HOST", "RNNCLUSTER_PORT", "RNNCLUSTER_PUBLIC_HOSTNAME", "RNNCLUSTER_CONFIG", "RNNCLUSTER_CONTACT" })
            info.Environment.Remove(name);
        foreach (var (name, value) in environment)
            info.Environment[name] = value;
        var running = new RunningProcess(new Process { StartInfo = info, EnableRaisingEvents = true });
        running.Process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            lock (running._output) running._output.Append(e.Data).Append('\n');
        };
        running.Process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            lock (running._error) running._error.Append(e.Data).Append('\n');
        };
        running.Process.Start();
        running.Process.BeginOutputReadLine();
        running.Process.BeginErrorReadLine();
        return running;
    }

    /// <summary>Waits until the output contains <paramref name="text"/>; fails on timeout or exit.</summary>
    public async Task WaitForOutputAsync(string text, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!Output.Contains(text, StringComparison.Ordinal))
        {
            if (Process.HasExited) Assert.Fail($"the process exited with {Process.ExitCode} before printing '{text}':\n{Output}\n{Error}");
            if (DateTime.UtcNow > deadline) Assert.Fail($"no '{text}' within {timeout.TotalSeconds} s:\n{Output}\n{Error}");
            await Task.Delay(100);
        }
    }

    public void Kill()
    {
        try
        {
            if (!Process.HasExited) Process.Kill(entireProcessTree: true);
            Process.WaitForExit(10_000);
        }
        catch (InvalidOperationException)
        {
            // never started or already gone
        }
    }

    public void Dispose()
    {
        Kill();
        Process.Dispose();
    }
}
