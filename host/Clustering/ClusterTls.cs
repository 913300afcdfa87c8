using TreePO.Grains.WeightStream;
using System.Security.Cryptography.X509Certificates;
using Orleans.Connections.Security;
using TreePO.Hosting.Options;

namespace TreePO.Hosting.Clustering;

/// <summary>
/// Mutual TLS for every connection of the cluster. Each process presents the cluster certificate and accepts a peer
/// only when the peer presents a certificate it trusts: the same certificate (one self-signed cluster certificate,
/// scripts/make-dev-cert.sh), or one issued by Cluster:Tls:CaPath. The system trust store is not enough on its own,
/// so a certificate from some public CA does not let a stranger join.
/// </summary>
public sealed class ClusterTls
{
    readonly X509Certificate2? ca;

    ClusterTls(X509Certificate2 certificate, X509Certificate2? ca)
    {
        Certificate = certificate;
        this.ca = ca;
    }

    public X509Certificate2 Certificate { get; }

    public static ClusterTls Load(ClusterTlsOptions t)
    {
        X509Certificate2 cert;
        try
        {
            cert = t.KeyPath.Length > 0
                ? X509Certificate2.CreateFromPemFile(t.CertificatePath, t.KeyPath)
                : Path.GetExtension(t.CertificatePath).ToLowerInvariant() is ".pfx" or ".p12"
                    ? X509CertificateLoader.LoadPkcs12FromFile(t.CertificatePath, t.Password.Length > 0 ? t.Password : null)
                    : throw new InvalidDataException("a PEM certificate needs Cluster:Tls:KeyPath (or give a .pfx/.p12 file)");
            if (t.KeyPath.Length > 0)   // SslStream wants a key it can use as a server: re-import as PKCS#12
                cert = X509CertificateLoader.LoadPkcs12(cert.Export(X509ContentType.Pkcs12), null);
        }
        catch (Exception e) when (e is System.Security.Cryptography.CryptographicException or InvalidDataException or IOException)
        {
            throw new TreePOOptionsException([$"{TreePOOptions.Section}:Cluster:Tls:CertificatePath: cannot load '{t.CertificatePath}': {e.Message}"]);
        }
        if (!cert.HasPrivateKey)
            throw new TreePOOptionsException([$"{TreePOOptions.Section}:Cluster:Tls:CertificatePath: '{t.CertificatePath}' has no private key"]);
        X509Certificate2? ca = t.CaPath.Length > 0 ? X509CertificateLoader.LoadCertificateFromFile(t.CaPath) : null;
        return new ClusterTls(cert, ca);
    }

    /// <summary>Both directions require a certificate and check it with <see cref="Trusts"/>.</summary>
    public void Configure(TlsOptions o)
    {
        o.LocalCertificate = Certificate;
        o.RemoteCertificateMode = RemoteCertificateMode.RequireCertificate;
        o.ClientCertificateMode = RemoteCertificateMode.RequireCertificate;
        o.RemoteCertificateValidation = (remote, _, _) => Trusts(remote);
        o.HandshakeTimeout = TimeSpan.FromSeconds(10);
    }

    /// <summary>A self-signed cluster certificate made in process, as scripts/make-dev-cert.sh makes one (EC P-256,
    /// server and client use, localhost and 127.0.0.1), for tests and benchmarks; write it out as a .pfx to use it.</summary>
    public static X509Certificate2 CreateSelfSigned(string name, TimeSpan lifetime)
    {
        using var key = System.Security.Cryptography.ECDsa.Create(System.Security.Cryptography.ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name}", key, System.Security.Cryptography.HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName("localhost");
        san.AddDnsName(name);
        san.AddIpAddress(System.Net.IPAddress.Loopback);
        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, critical: true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(
            [new System.Security.Cryptography.Oid("1.3.6.1.5.5.7.3.1"), new System.Security.Cryptography.Oid("1.3.6.1.5.5.7.3.2")], critical: false));
        using var cert = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow + lifetime);
        return X509CertificateLoader.LoadPkcs12(cert.Export(X509ContentType.Pkcs12), null);   // a key SslStream can serve with, as Load does
    }

    /// <summary>The same certificate and checks for the weight stream beside Orleans (mutual, as <see cref="Configure"/>).</summary>
    public WeightStreamTls ForWeightStream() => new(Certificate, Trusts, requireClientCertificate: true);

    /// <summary>The peer shows our own certificate, or one that chains to the configured CA (and is in date).</summary>
    public bool Trusts(X509Certificate2? remote)
    {
        if (remote is null) return false;
        if (remote.RawDataMemory.Span.SequenceEqual(Certificate.RawDataMemory.Span)) return true;
        if (ca is null) return false;
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(ca);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        return chain.Build(remote);
    }
}
