using ScottPlot;

namespace TreePO.Hosting.Reporting;

/// <summary>Writes panels as a grid of line plots to a PNG file (training curves, benchmark sweeps).</summary>
public static class PanelPlot
{
    public static void SavePng(string path, IReadOnlyList<Panel> panels, int columns = 2, int panelWidth = 520, int panelHeight = 360)
    {
        if (panels.Count == 0) throw new ArgumentException("nothing to plot", nameof(panels));
        int rows = (panels.Count + columns - 1) / columns;
        var multiplot = new Multiplot();
        multiplot.AddPlots(panels.Count);
        multiplot.Layout = new ScottPlot.MultiplotLayouts.Grid(rows, Math.Min(columns, panels.Count));
        for (int i = 0; i < panels.Count; i++)
        {
            var plot = multiplot.GetPlot(i);
            var panel = panels[i];
            plot.Title(panel.Title);
            plot.XLabel(panel.XLabel);
            plot.YLabel(panel.YLabel);
            foreach (var s in panel.Series)
            {
                if (s.X.Count != s.Y.Count) throw new ArgumentException($"series '{s.Name}' has {s.X.Count} x and {s.Y.Count} y values");
                if (s.X.Count == 0) continue;
                var line = plot.Add.Scatter(s.X.ToArray(), s.Y.ToArray());
                line.LegendText = s.Name;
            }
            if (panel.Series.Count > 1) plot.ShowLegend();
        }
        string? dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (dir is not null) Directory.CreateDirectory(dir);
        multiplot.SavePng(path, panelWidth * Math.Min(columns, panels.Count), panelHeight * rows);
    }
}
