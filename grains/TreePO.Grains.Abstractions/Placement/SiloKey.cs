using Orleans.Runtime;

namespace TreePO.Grains.Placement;

/// <summary>Keys of silo-pinned grains: "{silo}" or "{silo}/{device}".</summary>
public static class SiloKey
{
    public static string For(SiloAddress silo) => silo.ToParsableString();

    public static string For(SiloAddress silo, int device) => $"{silo.ToParsableString()}/{device}";

    public static SiloAddress ParseSilo(string key)
    {
        int slash = key.IndexOf('/');
        string silo = slash < 0 ? key : key[..slash];
        try { return SiloAddress.FromParsableString(silo); }
        catch (Exception e) { throw new ArgumentException($"grain key '{key}' does not start with a silo address", nameof(key), e); }
    }

    public static int ParseDevice(string key)
    {
        int slash = key.IndexOf('/');
        if (slash < 0 || !int.TryParse(key[(slash + 1)..], out int device) || device < 0)
            throw new ArgumentException($"grain key '{key}' is not of the form '{{silo}}/{{device}}'", nameof(key));
        return device;
    }
}
