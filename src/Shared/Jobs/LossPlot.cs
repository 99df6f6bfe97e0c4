using System.Globalization;

namespace RnnCluster.Jobs;

/// <summary>
/// A training curve as a 640x400 RGB PNG: axes, grid, loss (blue) and validation loss (orange)
/// as lines over epochs, labels for the value range and the epochs in a 5x7 bitmap font, and a
/// legend. A logarithmic value axis is used when the values are positive and span more than
/// two decades. The title goes into a PNG tEXt chunk. No dependencies beyond zlib.
/// </summary>
public static class LossPlot
{
    public const int Width = 640;
    public const int Height = 400;

    private static readonly Rgb Background = new(255, 255, 255);
    private static readonly Rgb Axis = new(40, 40, 40);
    private static readonly Rgb Grid = new(225, 225, 225);
    private static readonly Rgb Text = new(60, 60, 60);
    public static readonly (byte R, byte G, byte B) LossColour = (31, 119, 180);
    public static readonly (byte R, byte G, byte B) ValLossColour = (255, 127, 14);

    private const int Left = 80, Right = 24, Top = 28, Bottom = 44;

    public static void WritePng(string path, IReadOnlyList<double> loss, IReadOnlyList<double>? valLoss, string title)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var folder = Path.GetDirectoryName(Path.GetFullPath(path));
        if (folder is not null) Directory.CreateDirectory(folder);
        File.WriteAllBytes(path, Render(loss, valLoss, title));
    }

    /// <summary>The PNG file's bytes.</summary>
    public static byte[] Render(IReadOnlyList<double> loss, IReadOnlyList<double>? valLoss, string title)
    {
        ArgumentNullException.ThrowIfNull(loss);
        var canvas = new Canvas(Width, Height, Background);
        int x0 = Left, x1 = Width - Right, y0 = Top, y1 = Height - Bottom;
        int epochs = Math.Max(loss.Count, valLoss?.Count ?? 0);

        var finite = loss.Concat(valLoss ?? []).Where(double.IsFinite).ToList();
        double lo = finite.Count > 0 ? finite.Min() : 0, hi = finite.Count > 0 ? finite.Max() : 1;
        bool log = lo > 0 && hi / lo > 100;
        double Transform(double v) => log ? Math.Log10(v) : v;
        double tlo = Transform(lo), thi = Transform(hi);
        if (thi - tlo < 1e-12)
        {
            double pad = Math.Max(Math.Abs(tlo) * 0.1, 1e-3);
            tlo -= pad;
            thi += pad;
        }
        else
        {
            double pad = (thi - tlo) * 0.05;
            tlo -= pad;
            thi += pad;
        }
        int Px(int i) => epochs <= 1 ? (x0 + x1) / 2 : x0 + (int)Math.Round((double)i * (x1 - x0) / (epochs - 1));
        int Py(double v) => y1 - (int)Math.Round((Transform(v) - tlo) / (thi - tlo) * (y1 - y0));

        // Grid, axes, labels.
        const int gridLines = 5;
        for (int g = 0; g < gridLines; g++)
        {
            int y = y1 - (int)Math.Round((double)g * (y1 - y0) / (gridLines - 1));
            canvas.Line(x0, y, x1, y, Grid);
            double value = tlo + (thi - tlo) * g / (gridLines - 1);
            if (log) value = Math.Pow(10, value);
            var label = Label(value);
            canvas.Text(x0 - 6 - Font.TextWidth(label), y - 3, label, Text);
        }
        for (int i = 0; i < epochs; i++) canvas.Line(Px(i), y1, Px(i), y1 + 3, Axis);
        canvas.Line(x0, y0, x0, y1, Axis);
        canvas.Line(x0, y1, x1, y1, Axis);
        if (epochs > 0)
        {
            canvas.Text(Px(0) - Font.TextWidth("1") / 2, y1 + 8, "1", Text);
            var last = epochs.ToString(CultureInfo.InvariantCulture);
            if (epochs > 1) canvas.Text(Px(epochs - 1) - Font.TextWidth(last) / 2, y1 + 8, last, Text);
        }
        canvas.Text((x0 + x1 - Font.TextWidth("epoch")) / 2, y1 + 22, "epoch", Text);
        if (log) canvas.Text(8, 8, "log", Text);

        // Curves, validation first so the training loss stays on top where they overlap.
        var lossColour = new Rgb(LossColour.R, LossColour.G, LossColour.B);
        var valColour = new Rgb(ValLossColour.R, ValLossColour.G, ValLossColour.B);
        if (valLoss is { Count: > 0 }) Curve(canvas, valLoss, valColour, Px, Py);
        Curve(canvas, loss, lossColour, Px, Py);

        // Legend.
        int lx = x1 - 110, ly = y0 + 6;
        canvas.Thick(lx, ly, lx + 24, ly, lossColour);
        canvas.Text(lx + 30, ly - 3, "loss", Text);
        if (valLoss is { Count: > 0 })
        {
            canvas.Thick(lx, ly + 14, lx + 24, ly + 14, valColour);
            canvas.Text(lx + 30, ly + 11, "val loss", Text);
        }

        return Png.EncodeRgb(Width, Height, canvas.Pixels, new Dictionary<string, string> { ["Title"] = title ?? "" });
    }

    private static void Curve(Canvas canvas, IReadOnlyList<double> values, Rgb colour, Func<int, int> px, Func<double, int> py)
    {
        (int X, int Y)? previous = null;
        for (int i = 0; i < values.Count; i++)
        {
            if (!double.IsFinite(values[i]))
            {
                previous = null; // a gap in the line
                continue;
            }
            var point = (px(i), py(values[i]));
            if (previous is { } p) canvas.Thick(p.X, p.Y, point.Item1, point.Item2, colour);
            if (values.Count <= 60) canvas.Square(point.Item1, point.Item2, 2, colour);
            previous = point;
        }
    }

    private static string Label(double v)
    {
        if (v == 0) return "0";
        return v.ToString(Math.Abs(v) is >= 1e-3 and < 1e4 ? "0.####" : "0.##e+00", CultureInfo.InvariantCulture);
    }

    private readonly record struct Rgb(byte R, byte G, byte B);

    private sealed class Canvas
    {
        private readonly int _width, _height;

        public Canvas(int width, int height, Rgb fill)
        {
            _width = width;
            _height = height;
            Pixels = new byte[width * height * 3];
            for (int i = 0; i < Pixels.Length; i += 3)
            {
                Pixels[i] = fill.R;
                Pixels[i + 1] = fill.G;
                Pixels[i + 2] = fill.B;
            }
        }

        public byte[] Pixels { get; }

        public void Set(int x, int y, Rgb c)
        {
            if ((uint)x >= (uint)_width || (uint)y >= (uint)_height) return;
            int i = (y * _width + x) * 3;
            Pixels[i] = c.R;
            Pixels[i + 1] = c.G;
            Pixels[i + 2] = c.B;
        }

        /// <summary>Bresenham's line, any octant.</summary>
        public void Line(int xa, int ya, int xb, int yb, Rgb c)
        {
            int dx = Math.Abs(xb - xa), sx = xa < xb ? 1 : -1;
            int dy = -Math.Abs(yb - ya), sy = ya < yb ? 1 : -1;
            int err = dx + dy;
            while (true)
            {
                Set(xa, ya, c);
                if (xa == xb && ya == yb) return;
                int e2 = 2 * err;
                if (e2 >= dy) { err += dy; xa += sx; }
                if (e2 <= dx) { err += dx; ya += sy; }
            }
        }

        /// <summary>A two-pixel-wide line: the Bresenham line and its neighbour across the main direction.</summary>
        public void Thick(int xa, int ya, int xb, int yb, Rgb c)
        {
            Line(xa, ya, xb, yb, c);
            if (Math.Abs(xb - xa) >= Math.Abs(yb - ya)) Line(xa, ya + 1, xb, yb + 1, c);
            else Line(xa + 1, ya, xb + 1, yb, c);
        }

        public void Square(int cx, int cy, int r, Rgb c)
        {
            for (int y = cy - r; y <= cy + r; y++)
                for (int x = cx - r; x <= cx + r; x++) Set(x, y, c);
        }

        public void Text(int x, int y, string text, Rgb c)
        {
            foreach (char ch in text)
            {
                if (Font.Glyph(ch) is { } rows)
                    for (int r = 0; r < 7; r++)
                        for (int b = 0; b < 5; b++)
                            if ((rows[r] >> (4 - b) & 1) != 0) Set(x + b, y + r, c);
                x += Font.Advance;
            }
        }
    }

    /// <summary>A 5x7 bitmap font with what the labels need: digits, . - + e, and the letters of "loss", "val", "epoch", "log".</summary>
    private static class Font
    {
        public const int Advance = 6;

        public static int TextWidth(string text) => text.Length == 0 ? 0 : text.Length * Advance - 1;

        public static byte[]? Glyph(char c) => c switch
        {
            '0' => [0b01110, 0b10001, 0b10011, 0b10101, 0b11001, 0b10001, 0b01110],
            '1' => [0b00100, 0b01100, 0b00100, 0b00100, 0b00100, 0b00100, 0b01110],
            '2' => [0b01110, 0b10001, 0b00001, 0b00010, 0b00100, 0b01000, 0b11111],
            '3' => [0b11110, 0b00001, 0b00001, 0b01110, 0b00001, 0b00001, 0b11110],
            '4' => [0b00010, 0b00110, 0b01010, 0b10010, 0b11111, 0b00010, 0b00010],
            '5' => [0b11111, 0b10000, 0b11110, 0b00001, 0b00001, 0b10001, 0b01110],
            '6' => [0b00110, 0b01000, 0b10000, 0b11110, 0b10001, 0b10001, 0b01110],
            '7' => [0b11111, 0b00001, 0b00010, 0b00100, 0b01000, 0b01000, 0b01000],
            '8' => [0b01110, 0b10001, 0b10001, 0b01110, 0b10001, 0b10001, 0b01110],
            '9' => [0b01110, 0b10001, 0b10001, 0b01111, 0b00001, 0b00010, 0b01100],
            '.' => [0, 0, 0, 0, 0, 0b01100, 0b01100],
            '-' => [0, 0, 0, 0b11111, 0, 0, 0],
            '+' => [0, 0b00100, 0b00100, 0b11111, 0b00100, 0b00100, 0],
            'e' => [0, 0, 0b01110, 0b10001, 0b11111, 0b10000, 0b01110],
            'l' => [0b01100, 0b00100, 0b00100, 0b00100, 0b00100, 0b00100, 0b01110],
            'o' => [0, 0, 0b01110, 0b10001, 0b10001, 0b10001, 0b01110],
            's' => [0, 0, 0b01111, 0b10000, 0b01110, 0b00001, 0b11110],
            'v' => [0, 0, 0b10001, 0b10001, 0b10001, 0b01010, 0b00100],
            'a' => [0, 0, 0b01110, 0b00001, 0b01111, 0b10001, 0b01111],
            'g' => [0, 0b01111, 0b10001, 0b10001, 0b01111, 0b00001, 0b01110],
            'p' => [0, 0, 0b11110, 0b10001, 0b11110, 0b10000, 0b10000],
            'c' => [0, 0, 0b01110, 0b10000, 0b10000, 0b10001, 0b01110],
            'h' => [0b10000, 0b10000, 0b10110, 0b11001, 0b10001, 0b10001, 0b10001],
            _ => null,
        };
    }
}
