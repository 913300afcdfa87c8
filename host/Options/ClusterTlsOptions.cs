namespace TreePO.Hosting.Options;

/// <summary>TLS on silo-to-silo and client-to-gateway connections (Microsoft.Orleans.Connections.Security). Every
/// process of the cluster holds the cluster certificate (scripts/make-dev-cert.sh makes a self-signed one) and
/// accepts a peer only when it presents that same certificate, or one issued by <see cref="CaPath"/>.</summary>
public sealed class ClusterTlsOptions
{
    public bool Enabled { get; set; }

    /// <summary>The certificate with its private key: a .pfx/.p12 file, or a PEM certificate (with
    /// <see cref="KeyPath"/>).</summary>
    public string CertificatePath { get; set; } = "";

    /// <summary>The PEM private key for a PEM <see cref="CertificatePath"/>; empty for a PFX.</summary>
    public string KeyPath { get; set; } = "";

    /// <summary>The PFX password, if any (better set through TREEPO__CLUSTER__TLS__PASSWORD).</summary>
    public string Password { get; set; } = "";

    /// <summary>A PEM CA certificate that signed the peers' certificates. Empty: peers must present the very
    /// certificate this process holds (one shared cluster certificate).</summary>
    public string CaPath { get; set; } = "";
}
