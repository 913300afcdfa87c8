using System.Text.Json.Nodes;
using Microsoft.Extensions.Configuration;
using TreePO.Core.Data;
using TreePO.Core.Tasks;
using TreePO.Grains.Tests.Support;
using TreePO.Hosting.Models;
using TreePO.Hosting.Options;

namespace TreePO.Grains.Tests.Hosting;

/// <summary>What a model folder's chat_template does to the prompts of every process (<see cref="ModelText"/>):
/// ChatML-style templates are followed, others refused unless Prompt:Format (--chat-format) overrides.</summary>
public sealed class ModelTextChatFormatTests : IDisposable
{
    readonly string _dir = TreePO.Testing.ScratchFolders.Create("treepo-modeltext-").FullName;

    public void Dispose() => Directory.Delete(_dir, true);

    const string Llama3 = """{% for message in messages %}{{ '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n' + message['content'] + '<|eot_id|>' }}{% endfor %}{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}""";
    const string Qwen2 = """{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n' }}{% endif %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}""";

    /// <summary>The tiny model's folder with another chat_template.</summary>
    string WithTemplate(string name, string template)
    {
        string dir = Directory.CreateDirectory(Path.Combine(_dir, name)).FullName;
        foreach (string f in Directory.GetFiles(TinyModelFolder.Path))
            File.Copy(f, Path.Combine(dir, Path.GetFileName(f)));
        string config = Path.Combine(dir, "tokenizer_config.json");
        var json = JsonNode.Parse(File.ReadAllText(config))!;
        json["chat_template"] = template;
        File.WriteAllText(config, json.ToJsonString());
        return dir;
    }

    static ModelText Load(string dir, PromptFormat? format = null) =>
        ModelText.Load(dir, TinyModelFolder.Options(o => { o.Model.Path = dir; if (format is { } f) o.Prompt.Format = f; }));

    static readonly TaskItem Chat = new("q", "2+2?", "4", Messages: [new ChatMessage("system", "Be brief."), new ChatMessage("user", "2+2?")]);

    [Fact]
    public void The_tiny_models_own_template_gives_the_prompts_it_always_had()
    {
        var text = Load(TinyModelFolder.Path);
        Assert.Equal("<|im_start|>user\n2+2?<|im_end|>\n<|im_start|>assistant\n", text.PromptText("2+2?"));
        Assert.Equal("<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\n2+2?<|im_end|>\n<|im_start|>assistant\n", text.PromptText(Chat));
        Assert.Equal(text.Tokenizer.Encode(text.PromptText(Chat)), ((IPromptEncoder)text).Encode(Chat));
    }

    [Fact]
    public void A_template_that_is_not_chatml_is_refused_and_accepted_with_the_override()
    {
        string dir = WithTemplate("llama", Llama3);
        var e = Assert.Throws<InvalidDataException>(() => Load(dir));
        Assert.StartsWith($"{Path.Combine(dir, "tokenizer_config.json")}: the chat_template is not ChatML-style", e.Message);
        Assert.Contains("--chat-format chatml", e.Message);
        Assert.Throws<InvalidDataException>(() => ModelText.Load(dir, TinyModelFolder.Options(o => { o.Model.Path = dir; o.Prompt.SystemPrompt = "Think."; })));

        Assert.Equal("<|im_start|>user\n2+2?<|im_end|>\n<|im_start|>assistant\n", Load(dir, PromptFormat.ChatML).PromptText("2+2?"));
        var raw = Load(dir, PromptFormat.Raw);
        Assert.Equal("2+2?", raw.PromptText("2+2?"));
        Assert.Equal("Be brief.\n\n2+2?", raw.PromptText(Chat));
    }

    [Fact]
    public void A_templates_default_system_turn_is_used_unless_one_is_configured_or_given()
    {
        string dir = WithTemplate("qwen2", Qwen2);
        Assert.Equal("<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n2+2?<|im_end|>\n<|im_start|>assistant\n",
            Load(dir).PromptText("2+2?"));
        Assert.StartsWith("<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user", Load(dir).PromptText(Chat));
        var configured = ModelText.Load(dir, TinyModelFolder.Options(o => { o.Model.Path = dir; o.Prompt.SystemPrompt = "Think."; }));
        Assert.StartsWith("<|im_start|>system\nThink.<|im_end|>\n<|im_start|>user\n2+2?", configured.PromptText("2+2?"));
        // --chat-format chatml renders ChatML as the project always did: no system turn the template would add.
        Assert.StartsWith("<|im_start|>user\n", Load(dir, PromptFormat.ChatML).PromptText("2+2?"));
    }

    [Theory]
    [InlineData("chatml", PromptFormat.ChatML)]
    [InlineData("raw", PromptFormat.Raw)]
    [InlineData("auto", PromptFormat.Auto)]
    [InlineData("plain", PromptFormat.Raw)]
    public void The_options_key_takes_the_format_by_name(string value, PromptFormat expected)
    {
        var o = TreePOConfiguration.Bind(new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["TreePO:Prompt:Format"] = value }).Build());
        Assert.Equal(expected, o.Prompt.Format);
        Assert.Equal(PromptFormat.Auto, new TreePOOptions().Prompt.Format);
        Assert.Throws<TreePOOptionsException>(() =>
            TreePOConfiguration.Bind(new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["TreePO:Prompt:Format"] = "chatmal" }).Build()));
    }
}
