using TreePO.Grains.WeightStream;
using System.Security.Cryptography.X509Certificates;
using TreePO.Grains.Training;
using TreePO.Hosting.Clustering;
using TreePO.Hosting.Options;

namespace TreePO.Grains.Tests.Support;

/// <summary>Self-signed cluster certificates made in the test (ClusterTls.CreateSelfSigned, as scripts/make-dev-cert.sh
/// makes them), written as a .pfx so they go through the production loader, ClusterTls.Load.</summary>
public static class TestCertificates
{
    public static X509Certificate2 SelfSigned(string name) => ClusterTls.CreateSelfSigned(name, TimeSpan.FromDays(1));

    /// <summary>Cluster:Tls options for <paramref name="cert"/>, written to a temporary .pfx.</summary>
    public static ClusterTlsOptions Options(X509Certificate2 cert)
    {
        string path = Path.Combine(TreePO.Testing.ScratchFolders.Create("treepo-cert-").FullName, "cluster.pfx");
        File.WriteAllBytes(path, cert.Export(X509ContentType.Pkcs12));
        return new ClusterTlsOptions { Enabled = true, CertificatePath = path };
    }

    /// <summary>The weight stream's TLS as a cluster holding <paramref name="cert"/> configures it.</summary>
    public static WeightStreamTls Cluster(X509Certificate2 cert) => ClusterTls.Load(Options(cert)).ForWeightStream();
}
