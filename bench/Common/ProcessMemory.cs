using System.Runtime.InteropServices;

namespace TreePO.Bench.Common;

/// <summary>Resident set size of this process from /proc/self/status (Linux); 0 where it cannot be read.</summary>
public static class ProcessMemory
{
    /// <summary>Returns what earlier runs left behind (managed garbage, freed native blocks glibc still holds) and then
    /// resets the peak mark, so one run's peak is not the previous run's leftovers.</summary>
    public static bool Settle()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        if (OperatingSystem.IsLinux())
        {
            try { malloc_trim(UIntPtr.Zero); }
            catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException) { }
        }
        return ResetPeak();
    }

    [DllImport("libc", EntryPoint = "malloc_trim")]
    static extern int malloc_trim(UIntPtr pad);

    /// <summary>Resets the kernel's peak-RSS mark (VmHWM) so the next <see cref="PeakRssBytes"/> covers one run only.
    /// False where the kernel refuses (then the peak is the process's since start).</summary>
    public static bool ResetPeak()
    {
        try
        {
            File.WriteAllText("/proc/self/clear_refs", "5");
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException)
        {
            return false;
        }
    }

    /// <summary>VmHWM: the peak resident set size since start or since <see cref="ResetPeak"/>.</summary>
    public static long PeakRssBytes() => Read("VmHWM:");

    /// <summary>VmRSS: the resident set size now.</summary>
    public static long RssBytes() => Read("VmRSS:");

    /// <summary>VmRSS of another process of this user (0 where it cannot be read).</summary>
    public static long Rss(int pid) => Read("VmRSS:", $"/proc/{pid}/status");

    /// <summary>VmHWM of another process of this user (0 where it cannot be read).</summary>
    public static long PeakRssBytes(int pid) => Read("VmHWM:", $"/proc/{pid}/status");

    /// <summary>Resets another process's peak mark, as <see cref="ResetPeak()"/> does for this one.</summary>
    public static bool ResetPeak(int pid)
    {
        try
        {
            File.WriteAllText($"/proc/{pid}/clear_refs", "5");
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException)
        {
            return false;
        }
    }

    static long Read(string field, string path = "/proc/self/status")
    {
        try
        {
            foreach (string line in File.ReadLines(path))
                if (line.StartsWith(field, StringComparison.Ordinal)) return ParseKb(line[field.Length..]);
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        return 0;
    }

    /// <summary>"   123456 kB" to bytes.</summary>
    public static long ParseKb(string value)
    {
        string[] parts = value.Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return parts.Length > 0 && long.TryParse(parts[0], out long kb) ? kb * 1024 : 0;
    }
}
