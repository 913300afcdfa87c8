using System.Globalization;

namespace TreePO.Bench.Common;

/// <summary>One scrape of Prometheus /metrics endpoints: every series' value summed over its labels and endpoints, by
/// metric name. Cumulative, so a run's figures are the difference of two scrapes.</summary>
public sealed class MetricsScrape(IReadOnlyDictionary<string, double> values)
{
    static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(90) };   // a silo starved of CPU answers late

    public IReadOnlyDictionary<string, double> Values => values;

    public double this[string name] => values.GetValueOrDefault(name);

    /// <summary>The sum over every metric whose name starts with <paramref name="prefix"/> and ends with
    /// <paramref name="suffix"/> (Orleans' names carry their unit, which an exporter may spell differently).</summary>
    public double Sum(string prefix, string suffix) =>
        values.Where(kv => kv.Key.StartsWith(prefix, StringComparison.Ordinal) && kv.Key.EndsWith(suffix, StringComparison.Ordinal)).Sum(kv => kv.Value);

    public static async Task<MetricsScrape> ReadAsync(IEnumerable<int> ports)
    {
        var sums = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (int port in ports)
        {
            string text = await Http.GetStringAsync($"http://127.0.0.1:{port}/metrics");
            foreach (string line in text.Split('\n'))
            {
                if (line.Length == 0 || line[0] == '#') continue;
                int brace = line.IndexOf('{'), space = line.LastIndexOf(' ');
                if (space <= 0) continue;
                string name = brace > 0 && brace < space ? line[..brace] : line[..line.IndexOf(' ')];
                // A line ends with its value, or with its value and a timestamp.
                string[] tail = line[(brace > 0 ? line.LastIndexOf('}') + 1 : name.Length)..].Trim().Split(' ');
                if (!double.TryParse(tail[0], NumberStyles.Float, CultureInfo.InvariantCulture, out double v) || !double.IsFinite(v)) continue;
                sums[name] = sums.GetValueOrDefault(name) + v;
            }
        }
        return new MetricsScrape(sums);
    }

    public static MetricsScrape operator -(MetricsScrape after, MetricsScrape before) =>
        new(after.Values.ToDictionary(kv => kv.Key, kv => kv.Value - before[kv.Key], StringComparer.Ordinal));
}
