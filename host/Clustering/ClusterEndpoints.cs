using System.Net;
using TreePO.Hosting.Options;

namespace TreePO.Hosting.Clustering;

/// <summary>Where a silo is reached and where it listens: loopback unless the options name an address.</summary>
public static class ClusterEndpoints
{
    public static IPAddress Advertised(ClusterOptions c) =>
        c.AdvertisedAddress.Length > 0 ? IPAddress.Parse(c.AdvertisedAddress) : IPAddress.Loopback;

    public static IPAddress Listen(ClusterOptions c) =>
        c.ListenAddress.Length > 0 ? IPAddress.Parse(c.ListenAddress) : Advertised(c);
}
