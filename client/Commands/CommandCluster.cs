using Spectre.Console;
using TreePO.Hosting;
using TreePO.Hosting.Options;

namespace TreePO.Client.Commands;

/// <summary>How `rollout` and `train` reach a cluster: an embedded silo wired by AddTreePO from the options tree, or
/// a running cluster with --cluster. Failures are printed; the caller exits with code 3.</summary>
public static class CommandCluster
{
    /// <param name="announce">Print the cluster's description once connected (not where stdout carries JSON).</param>
    public static async Task<ClusterConnection?> ConnectAsync(TreePOOptions options, bool join, CancellationToken cancellationToken, bool announce = true)
    {
        ClusterConnection connection;
        try
        {
            connection = join
                ? await ClusterConnection.JoinAsync(options, cancellationToken)
                : await ClusterConnection.EmbeddedAsync(options, cancellationToken);
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested)
        {
            AnsiConsole.MarkupLine($"[red]{Markup.Escape(e.Message)}[/]");
            return null;
        }
        if (announce) AnsiConsole.MarkupLine(Markup.Escape($"running on {connection.Description}"));
        return connection;
    }
}
