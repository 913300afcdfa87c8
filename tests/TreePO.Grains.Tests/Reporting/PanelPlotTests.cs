using TreePO.Hosting.Reporting;
using TreePO.Testing;

namespace TreePO.Grains.Tests.Reporting;

public sealed class PanelPlotTests
{
    [Fact]
    public void Writes_a_png_of_the_requested_grid()
    {
        string path = Path.Combine(TreePO.Testing.ScratchFolders.Create("treepo-plot-").FullName, "curves.png");
        double[] x = { 1, 2, 3, 4 };
        PanelPlot.SavePng(path, new[]
        {
            new Panel("reward", "step", "reward", new[] { new Series("train", x, new double[] { -1, -0.5, 0, 0.2 }) }),
            new Panel("accuracy", "step", "accuracy", new[]
            {
                new Series("train", x, new double[] { 0.2, 0.3, 0.4, 0.5 }),
                new Series("held-out", x, new double[] { 0.25, 0.3, 0.35, 0.45 }),
            }),
            new Panel("length", "step", "tokens", new[] { new Series("mean", x, new double[] { 40, 42, 41, 39 }) }),
        }, columns: 2, panelWidth: 300, panelHeight: 200);

        byte[] png = File.ReadAllBytes(path);
        Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, png[..4]);
        // IHDR: width and height, big-endian, at offsets 16 and 20.
        Assert.Equal(600, (png[16] << 24) | (png[17] << 16) | (png[18] << 8) | png[19]);
        Assert.Equal(400, (png[20] << 24) | (png[21] << 16) | (png[22] << 8) | png[23]);
    }

    [Fact]
    public void Mismatched_series_name_the_series()
    {
        using var folder = new TempFolder("treepo-plot-");
        var e = Assert.Throws<ArgumentException>(() => PanelPlot.SavePng(Path.Combine(folder, "broken.png"), new[]
        {
            new Panel("p", "x", "y", new[] { new Series("broken", new double[] { 1, 2 }, new double[] { 1 }) }),
        }));
        Assert.Contains("broken", e.Message);
    }
}
