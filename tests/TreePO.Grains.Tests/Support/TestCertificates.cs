using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using TreePO.Grains.Training;
using TreePO.Hosting.Clustering;
using TreePO.Hosting.Options;

namespace TreePO.Grains.Tests.Support;

/// <summary>Self-signed cluster certificates made in the test (as scripts/make-dev-cert.sh makes them), written as a
/// .pfx so they go through the production loader, ClusterTls.</summary>
public static class TestCertificates
{
    public static X509Certificate2 SelfSigned(string name)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName("localhost");
        san.AddIpAddress(System.Net.IPAddress.Loopback);
        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, critical: true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(
            [new Oid("1.3.6.1.5.5.7.3.1"), new Oid("1.3.6.1.5.5.7.3.2")], critical: false));   // server and client auth
        using var cert = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
        return X509CertificateLoader.LoadPkcs12(cert.Export(X509ContentType.Pkcs12), null);
    }

    /// <summary>Cluster:Tls options for <paramref name="cert"/>, written to a temporary .pfx.</summary>
    public static ClusterTlsOptions Options(X509Certificate2 cert)
    {
        string path = Path.Combine(Directory.CreateTempSubdirectory("treepo-cert-").FullName, "cluster.pfx");
        File.WriteAllBytes(path, cert.Export(X509ContentType.Pkcs12));
        return new ClusterTlsOptions { Enabled = true, CertificatePath = path };
    }

    /// <summary>The weight stream's TLS as a cluster holding <paramref name="cert"/> configures it.</summary>
    public static WeightStreamTls Cluster(X509Certificate2 cert) => ClusterTls.Load(Options(cert)).ForWeightStream();
}
