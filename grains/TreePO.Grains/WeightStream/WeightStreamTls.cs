using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;

namespace TreePO.Grains.WeightStream;

/// <summary>
/// TLS for the weight stream, with the cluster's own certificate material (host/Clustering/ClusterTls builds it from
/// Cluster:Tls): the trainer's silo presents <see cref="Certificate"/>, the engine's silo checks it with
/// <see cref="Trusts"/> and presents the same certificate back (mutual TLS, as Orleans' connections are configured).
/// A peer that fails either check is dropped in the handshake, before the token is read or any weight byte is sent.
/// </summary>
public sealed class WeightStreamTls(X509Certificate2 certificate, Func<X509Certificate2?, bool> trusts, bool requireClientCertificate = true)
{
    public static readonly TimeSpan HandshakeTimeout = TimeSpan.FromSeconds(10);

    public X509Certificate2 Certificate { get; } = certificate;

    /// <summary>Whether the server demands a certificate from the engine (the cluster does, as Orleans by default).</summary>
    public bool RequireClientCertificate { get; } = requireClientCertificate;

    /// <summary>The cluster's rule for a peer's certificate (ClusterTls.Trusts: the cluster certificate itself or one
    /// from the configured CA). Host names play no part, as in the cluster's own TLS.</summary>
    public bool Trusts(X509Certificate2? remote) => trusts(remote);

    bool Check(X509Certificate? remote) => remote switch
    {
        X509Certificate2 c => Trusts(c),
        null => false,
        _ => Trusts(new X509Certificate2(remote)),
    };

    internal async Task<SslStream> AcceptAsync(Stream inner, CancellationToken cancellationToken)
    {
        var ssl = new SslStream(inner, leaveInnerStreamOpen: false);
        try
        {
            await ssl.AuthenticateAsServerAsync(new SslServerAuthenticationOptions
            {
                ServerCertificate = Certificate,
                ClientCertificateRequired = RequireClientCertificate,
                CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
                RemoteCertificateValidationCallback = (_, remote, _, _) => remote is null ? !RequireClientCertificate : Check(remote),
            }, cancellationToken);
            return ssl;
        }
        catch
        {
            await ssl.DisposeAsync();
            throw;
        }
    }

    /// <summary>The engine's side; a failed handshake is an <see cref="AuthenticationException"/> naming the server
    /// (the engine then falls back to Orleans chunks under `auto`).</summary>
    internal async Task<SslStream> ConnectAsync(Stream inner, string host, int port, CancellationToken cancellationToken)
    {
        var ssl = new SslStream(inner, leaveInnerStreamOpen: false);
        try
        {
            await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
            {
                TargetHost = host,
                // Always offer the cluster certificate: a self-signed one would not match the issuers a server lists.
                LocalCertificateSelectionCallback = (_, _, _, _, _) => Certificate,
                CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
                RemoteCertificateValidationCallback = (_, remote, _, _) => Check(remote),
            }, cancellationToken);
            return ssl;
        }
        catch (Exception e) when (e is AuthenticationException or IOException)
        {
            await ssl.DisposeAsync();
            throw new AuthenticationException($"the weight stream at {host}:{port} failed the TLS handshake ({e.GetBaseException().Message}): " +
                "both silos need the cluster certificate (Cluster:Tls), and the server's must be one this silo trusts", e);
        }
        catch
        {
            await ssl.DisposeAsync();
            throw;
        }
    }
}
