using System.Net;
using System.Net.Sockets;

namespace TreePO.Cluster.Tests.Support;

/// <summary>Loopback TCP ports free at the moment they are chosen, all distinct.</summary>
public static class FreePorts
{
    public static int[] Take(int count)
    {
        var listeners = Enumerable.Range(0, count).Select(_ => new TcpListener(IPAddress.Loopback, 0)).ToList();
        try
        {
            listeners.ForEach(l => l.Start());
            return listeners.Select(l => ((IPEndPoint)l.LocalEndpoint).Port).ToArray();
        }
        finally { listeners.ForEach(l => l.Stop()); }
    }
}
