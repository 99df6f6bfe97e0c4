using RnnCluster.Model;

namespace RnnCluster.Interop.Onnx;

/// <summary>
/// Keras recurrent weights in ONNX's layout (onnx/defs/rnn/defs.cc): W <c>[1, G*H, D]</c> and R
/// <c>[1, G*H, H]</c> are Keras's kernels transposed, gate block by gate block; B <c>[1, 2*G*H]</c>
/// is the input bias then the recurrent bias. Gate orders: Keras LSTM i, f, c, o; ONNX LSTM i, o,
/// f, c. GRU z, r, h in both (Keras reset_after is ONNX linear_before_reset=1, whose recurrent
/// bias sits inside the reset product as Keras's bias row 1 does). SimpleRNN: one block, no
/// recurrent bias (zeros).
/// </summary>
internal static class OnnxGates
{
    /// <summary>For each ONNX gate block, the Keras block it comes from.</summary>
    public static int[] KerasBlockOf(string kind) => kind switch
    {
        LayerKinds.Lstm => [0, 3, 1, 2],
        LayerKinds.Gru => [0, 1, 2],
        LayerKinds.SimpleRnn => [0],
        _ => throw new ModelException($"'{kind}' is not a recurrent kind"),
    };

    /// <summary>A Keras kernel (rows, G*H) as ONNX's (G*H, rows), blocks reordered.</summary>
    public static float[] Transposed(Tensor kernel, int units, int[] blocks)
    {
        int rows = kernel.Shape[0], cols = kernel.Shape[1];
        var result = new float[rows * cols];
        for (int g = 0; g < blocks.Length; g++)
            for (int j = 0; j < units; j++)
            {
                int source = blocks[g] * units + j, target = g * units + j;
                for (int r = 0; r < rows; r++) result[target * rows + r] = kernel.Data[r * cols + source];
            }
        return result;
    }

    /// <summary>ONNX's B: [input bias; recurrent bias], blocks reordered; zeros where Keras has no recurrent bias.</summary>
    public static float[] Bias(Tensor bias, int units, int[] blocks)
    {
        int g = blocks.Length * units;
        var result = new float[2 * g];
        bool twoRows = bias.Rank == 2;
        for (int row = 0; row < (twoRows ? 2 : 1); row++)
            for (int b = 0; b < blocks.Length; b++)
                for (int j = 0; j < units; j++)
                    result[row * g + b * units + j] = bias.Data[row * g + blocks[b] * units + j];
        return result;
    }
}
