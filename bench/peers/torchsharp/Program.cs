// TorchSharp peer for the RnnCluster benchmark: the training step of bench/peers/pytorch_rnn.py,
// line for line, on TorchSharp-cpu 0.107.0 (libtorch 2.10, its own bundled math).
//
// Model: nn.RNN(tanh) / LSTM / GRU (batchFirst, 1 layer) over x[B,T,D] with explicit random
// initial states (h0, and c0 for LSTM), then nn.Linear(H, 1) on the last timestep's output, MSE
// against y[B,1], Adam (lr 1e-3). float32. x, y, h0 (c0) are drawn once and reused every step.
// One timed step = zero_grad (grads set to none, as PyTorch's default), forward, loss, backward,
// optimizer.step, inside a dispose scope (so the step's temporaries are freed when it ends, as
// Python's reference counting frees them).
// Prints the median ms/step (Stopwatch around each step, after the warm-up steps).
//
//   bench/peers/torchsharp/run.sh --cell lstm --batch 64 --steps-time 100 --features 32 \
//       --hidden 128 --threads 1 --warmup 5 --iters 20 [--json]
//
// Build and run through build.sh / run.sh: on Debian 12 TorchSharp's native library needs the
// loading fix those scripts apply (see weaken-glibcxx.py).
using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using TorchSharp;
using static TorchSharp.torch;

namespace RnnCluster.Peers.TorchSharpRnn;

internal static partial class Program
{
    [LibraryImport("libc.so.6", EntryPoint = "mallopt")]
    private static partial int Mallopt(int param, int value);

    /// <summary>
    /// The same glibc malloc settings pytorch_rnn.py makes (keep freed memory instead of handing it
    /// back with munmap/trim), so both peers run with the allocator behaviour that made PyTorch
    /// faster and steadier on this VM. Must run before libtorch allocates anything.
    /// </summary>
    private static bool TuneMalloc()
    {
        const int M_TRIM_THRESHOLD = -1, M_MMAP_MAX = -4;
        try
        {
            bool ok = Mallopt(M_MMAP_MAX, 0) == 1;
            return Mallopt(M_TRIM_THRESHOLD, int.MaxValue) == 1 && ok;
        }
        catch (DllNotFoundException) { return false; }
        catch (EntryPointNotFoundException) { return false; }
    }

    private static int Main(string[] args)
    {
        string cell = "rnn";
        int batch = 64, stepsTime = 100, features = 32, hidden = 128, threads = 1, warmup = 3, iters = 10;
        long seed = 1234;
        bool json = false, mallocTuning = true;
        int sgemm = 0;
        for (int i = 0; i < args.Length; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            int Int() => int.Parse(Next(), CultureInfo.InvariantCulture);
            switch (args[i])
            {
                case "--cell": cell = Next(); break;
                case "--batch": batch = Int(); break;
                case "--steps-time": stepsTime = Int(); break;
                case "--features": features = Int(); break;
                case "--hidden": hidden = Int(); break;
                case "--threads": threads = Int(); break;
                case "--warmup": warmup = Int(); break;
                case "--iters": iters = Int(); break;
                case "--seed": seed = long.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--json": json = true; break;
                case "--no-malloc-tuning": mallocTuning = false; break;
                case "--sgemm": sgemm = Int(); break;
                case "-h" or "--help":
                    Console.WriteLine("torchsharp-rnn [--cell rnn|lstm|gru] [--batch B] [--steps-time T] [--features D] [--hidden H] " +
                                      "[--threads N] [--warmup N] [--iters N] [--seed S] [--json] [--no-malloc-tuning]\n" +
                                      "torchsharp-rnn --sgemm N [--threads N] [--json]   (GFLOP/s of libtorch's N x N float32 matmul)");
                    return 0;
                default:
                    Console.Error.WriteLine($"torchsharp-rnn: unknown argument '{args[i]}'");
                    return 2;
            }
        }
        if (cell is not ("rnn" or "lstm" or "gru")) { Console.Error.WriteLine($"torchsharp-rnn: --cell must be rnn, lstm or gru, got '{cell}'"); return 2; }
        if (batch < 1 || stepsTime < 1 || features < 1 || hidden < 1 || threads < 1 || iters < 1 || warmup < 0)
        {
            Console.Error.WriteLine("torchsharp-rnn: --batch, --steps-time, --features, --hidden, --threads, --iters must be >= 1, --warmup >= 0");
            return 2;
        }
        bool mallocTuned = mallocTuning && TuneMalloc();

        torch.set_num_threads(threads);
        torch.manual_seed(seed);
        if (sgemm > 0) return Sgemm(sgemm, threads, json);
        int B = batch, T = stepsTime, D = features, H = hidden;

        nn.Module rnn = cell switch
        {
            "rnn" => nn.RNN(D, H, numLayers: 1, batchFirst: true), // tanh, the default nonlinearity
            "lstm" => nn.LSTM(D, H, numLayers: 1, batchFirst: true),
            _ => nn.GRU(D, H, numLayers: 1, batchFirst: true),
        };
        var head = nn.Linear(H, 1);
        var parameters = rnn.parameters().Concat(head.parameters()).ToList();
        var opt = torch.optim.Adam(parameters, lr: 1e-3);
        var lossFn = nn.MSELoss();

        var x = torch.randn(B, T, D, dtype: ScalarType.Float32);
        var y = torch.randn(B, 1, dtype: ScalarType.Float32);
        var h0 = torch.randn(1, B, H, dtype: ScalarType.Float32); // (numLayers, B, H), also with batchFirst
        var c0 = torch.randn(1, B, H, dtype: ScalarType.Float32);

        void Step()
        {
            using var scope = torch.NewDisposeScope();
            foreach (var p in parameters) p.grad = null; // zero_grad(set_to_none=True); TorchSharp's zero_grad() fills zeros
            Tensor output = rnn switch
            {
                TorchSharp.Modules.LSTM lstm => lstm.forward(x, (h0, c0)).Item1,
                TorchSharp.Modules.GRU gru => gru.forward(x, h0).Item1,
                TorchSharp.Modules.RNN r => r.forward(x, h0).Item1,
                _ => throw new InvalidOperationException(),
            };                                              // [B, T, H]
            var pred = head.forward(output.select(1, -1));  // last timestep -> [B, 1]
            var loss = lossFn.forward(pred, y);
            loss.backward();
            opt.step();
        }

        for (int i = 0; i < warmup; i++) Step();
        var times = new double[iters];
        for (int i = 0; i < iters; i++)
        {
            long t0 = Stopwatch.GetTimestamp();
            Step();
            times[i] = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
        }
        double ms = Median(times);

        var inv = CultureInfo.InvariantCulture;
        if (json)
            Console.WriteLine(string.Create(inv,
                $"{{\"cell\": \"{cell}\", \"B\": {B}, \"T\": {T}, \"D\": {D}, \"H\": {H}, \"threads\": {threads}, \"ms\": {Math.Round(ms, 3)}}}"));
        else
            Console.WriteLine(string.Create(inv,
                $"torchsharp {torch.__version__} {cell} B={B} T={T} D={D} H={H} threads={threads}: median {ms:0.00} ms/step " +
                $"(min {times.Min():0.00}, max {times.Max():0.00}, n={iters}, malloc {(mallocTuned ? "tuned" : "default")})"));
        return 0;
    }

    /// <summary>libtorch's own GEMM speed (torch.mm, N x N float32), median of 20 after 5 warm-up products.</summary>
    private static int Sgemm(int n, int threads, bool json)
    {
        var a = torch.randn(n, n);
        var b = torch.randn(n, n);
        var times = new double[20];
        for (int i = -5; i < times.Length; i++)
        {
            long t0 = Stopwatch.GetTimestamp();
            using (torch.mm(a, b)) { }
            if (i >= 0) times[i] = Stopwatch.GetElapsedTime(t0).TotalSeconds;
        }
        double gflops = 2.0 * n * n * n / Median(times) / 1e9;
        Console.WriteLine(json
            ? string.Create(CultureInfo.InvariantCulture, $"{{\"sgemm\": {n}, \"threads\": {threads}, \"gflops\": {Math.Round(gflops, 2)}}}")
            : string.Create(CultureInfo.InvariantCulture, $"torchsharp {torch.__version__} sgemm {n}x{n} threads={threads}: {gflops:0.0} GFLOP/s"));
        return 0;
    }

    private static double Median(double[] values)
    {
        var s = values.OrderBy(v => v).ToArray();
        int n = s.Length;
        return n % 2 == 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
    }
}
