using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace TreePO.Cluster.Tests.Support;

/// <summary>What a process listens on, read from the kernel, and whether an address answers: the loopback-only
/// checks of the dashboard and the telemetry endpoint.</summary>
public static class Listening
{
    /// <summary>The TCP endpoints a process listens on ("127.0.0.1:8080", "[::]:8080"), from the kernel's socket
    /// tables matched against the process's open sockets.</summary>
    public static List<string> ListeningEndpoints(int pid)
    {
        var inodes = Directory.EnumerateFileSystemEntries($"/proc/{pid}/fd")
            .Select(fd => { try { return new FileInfo(fd).LinkTarget ?? ""; } catch (IOException) { return ""; } })
            .Where(t => t.StartsWith("socket:[")).Select(t => t["socket:[".Length..^1]).ToHashSet();
        var result = new List<string>();
        foreach (var (file, v6) in new[] { ("/proc/net/tcp", false), ("/proc/net/tcp6", true) })
            foreach (string line in File.ReadLines(file).Skip(1))
            {
                // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
                string[] f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (f[3] != "0A" || !inodes.Contains(f[9])) continue;   // 0A: LISTEN
                string[] local = f[1].Split(':');
                var ip = new IPAddress(HostOrder(Convert.FromHexString(local[0])));
                int port = int.Parse(local[1], NumberStyles.HexNumber);
                result.Add(v6 ? $"[{ip}]:{port}" : $"{ip}:{port}");
            }
        return result;
    }

    /// <summary>/proc/net/tcp* print an address as 32-bit words (one for IPv4, four for IPv6), each in host
    /// (little-endian) order: 127.0.0.1 is 0100007F.</summary>
    static byte[] HostOrder(byte[] b)
    {
        for (int i = 0; i < b.Length; i += 4) Array.Reverse(b, i, 4);
        return b;
    }

    public static async Task<bool> CanConnectAsync(IPAddress address, int port)
    {
        using var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(3));
        try { await socket.ConnectAsync(address, port, cts.Token); return true; }
        catch (Exception e) when (e is SocketException or OperationCanceledException) { return false; }
    }
}
