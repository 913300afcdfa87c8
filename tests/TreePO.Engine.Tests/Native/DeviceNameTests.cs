using TorchSharp;
using TreePO.Engine.Native;

namespace TreePO.Engine.Tests.Native;

public sealed class DeviceNameTests
{
    [Theory]
    [InlineData("cpu")]
    [InlineData("CPU")]
    [InlineData("cuda")]
    [InlineData("cuda:0")]
    [InlineData("Cuda:12")]
    public void Cpu_cuda_and_cuda_n_are_device_names(string name) => Assert.Null(DeviceName.Problem(name, "X:Device"));

    [Theory]
    [InlineData("gpu7")]
    [InlineData("")]
    [InlineData(" cpu")]
    [InlineData("cpu:0")]
    [InlineData("cuda:")]
    [InlineData("cuda:-1")]
    [InlineData("cuda:+1")]
    [InlineData("cuda:1.5")]
    [InlineData("cuda:99999999999")]
    [InlineData("mps")]
    [InlineData(null)]
    public void Other_names_are_refused_naming_the_option(string? name)
    {
        Assert.Equal($"X:Device must be cpu, cuda or cuda:N (got '{name}')", DeviceName.Problem(name, "X:Device"));
        var e = Assert.Throws<ArgumentException>(() => DeviceName.Resolve(name, "X:Device"));
        Assert.Equal(DeviceName.Problem(name, "X:Device"), e.Message);
    }

    [Fact]
    public void Cpu_resolves_to_the_cpu()
    {
        Assert.Equal(DeviceType.CPU, DeviceName.Resolve("cpu", "X:Device").type);
        Assert.Equal(DeviceType.CPU, DeviceName.Resolve("CPU", "X:Device").type);
    }
}
