using TreePO.Grains.Placement;

namespace TreePO.Grains.Diagnostics;

/// <summary>One per silo, keyed by the silo's parsable address: reports that silo's runtime and devices.</summary>
[Alias("treepo.silo-info")]
public interface ISiloInfoGrain : IGrainWithStringKey
{
    [Alias("report")]
    Task<SiloReport> GetReportAsync();
}
