using System.Runtime.ExceptionServices;

namespace RnnCluster.Model.Recurrent;

/// <summary>How the recurrent time loops used the threads the math backend was given, for the programs' reports.</summary>
public static class TimeLoopThreads
{
    /// <summary>Passes (one layer's forward or backward phase) that ran split over two threads in this process.</summary>
    public static long SplitPasses => RowSplitter.SplitPasses;
}

/// <summary>
/// Runs part 1 of a row-split pass on a helper thread while the caller runs part 0. One helper
/// for the process, started on first use and kept; waiting uses reusable events, so a split pass
/// allocates nothing. When the helper is busy with another caller's pass, the caller runs both
/// parts itself. Both threads run their part with one backend thread each
/// (<see cref="Numerics.IMathKernels.UseOneThreadOnThisThread"/>: MKL's thread-local setting), so the
/// two threads do not each start an OpenMP team.
/// </summary>
internal static class RowSplitter
{
    private static readonly object Gate = new();
    private static long _splitPasses;
    private static readonly Signal Start = new();
    private static readonly Signal Done = new();
    private static Thread? _helper;
    private static Unroller? _work;
    private static Exception? _error;
    private static int _busy;

    public static void Run(Unroller work)
    {
        work.Kernels.UseOneThreadOnThisThread();
        if (Interlocked.CompareExchange(ref _busy, 1, 0) != 0)
        {
            // Someone else's pass holds the helper: do both parts here.
            work.RunPart(0);
            work.RunPart(1);
            return;
        }
        try
        {
            EnsureHelper();
            Interlocked.Increment(ref _splitPasses);
            _work = work;
            _error = null;
            Done.Reset();
            Start.Set();
            Exception? mine = null;
            try
            {
                work.RunPart(0);
            }
            catch (Exception e)
            {
                mine = e;
            }
            finally
            {
                Done.Wait();
                _work = null;
            }
            if (mine is not null) ExceptionDispatchInfo.Capture(mine).Throw();
            if (_error is { } helperError) ExceptionDispatchInfo.Capture(helperError).Throw();
        }
        finally
        {
            Volatile.Write(ref _busy, 0);
        }
    }

    /// <summary>Passes that ran on two threads in this process.</summary>
    public static long SplitPasses => Interlocked.Read(ref _splitPasses);

    private static void EnsureHelper()
    {
        if (_helper is not null) return;
        lock (Gate)
        {
            if (_helper is not null) return;
            _helper = new Thread(Loop) { IsBackground = true, Name = "rnncluster-row-split" };
            _helper.Start();
        }
    }

    private static void Loop()
    {
        while (true)
        {
            Start.Wait();
            Start.Reset();
            try
            {
                _work!.Kernels.UseOneThreadOnThisThread();
                _work.RunPart(1);
            }
            catch (Exception e)
            {
                _error = e;
            }
            Done.Set();
        }
    }
}

/// <summary>
/// A reusable manual-reset event that spins briefly, then blocks on a monitor; unlike
/// ManualResetEventSlim it never allocates on the managed heap (no lazily created lock object).
/// </summary>
internal sealed class Signal
{
    private readonly object _lock = new();
    private volatile bool _set;

    public void Set()
    {
        lock (_lock)
        {
            _set = true;
            Monitor.Pulse(_lock);
        }
    }

    public void Reset() => _set = false;

    /// <summary>Waits until set; leaves it set (call <see cref="Reset"/>).</summary>
    public void Wait()
    {
        for (int i = 0; i < 1000 && !_set; i++) Thread.SpinWait(10);
        if (_set) return;
        lock (_lock)
        {
            while (!_set) Monitor.Wait(_lock);
        }
    }
}

