using System.Text.Json;
using TreePO.Core.Data;
using TreePO.Engine.Tokenizer;

namespace TreePO.Engine.Tests.Tokenizer;

/// <summary>
/// tokenizer_config.json's chat_template recognised, and prompts rendered as Hugging Face renders them. The expected
/// strings are written by hand from the templates below (no machine with transformers was at hand): each turn is
/// '&lt;|im_start|&gt;' + role + '\n' + content + '&lt;|im_end|&gt;\n', the generation prompt '&lt;|im_start|&gt;assistant\n', and
/// Qwen2/Qwen2.5 write their default system turn when the messages have none.
/// </summary>
public sealed class ChatTemplateTests : IDisposable
{
    readonly string _dir = TreePO.Testing.ScratchFolders.Create("treepo-template-").FullName;

    public void Dispose() => Directory.Delete(_dir, true);

    // Qwen2.5-Instruct's template (its tools branch shortened): a default system turn when there is none.
    const string Qwen25 = """
        {%- if tools %}
            {{- '<|im_start|>system\n' }}
            {%- if messages[0]['role'] == 'system' %}
                {{- messages[0]['content'] }}
            {%- else %}
                {{- 'You are Qwen, created by Alibaba Cloud. You are a helpful assistant.' }}
            {%- endif %}
            {{- "\n\n# Tools\n\n<tools>" }}
        {%- else %}
            {%- if messages[0]['role'] == 'system' %}
                {{- '<|im_start|>system\n' + messages[0]['content'] + '<|im_end|>\n' }}
            {%- else %}
                {{- '<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n' }}
            {%- endif %}
        {%- endif %}
        {%- for message in messages %}
            {%- if (message.role == "user") or (message.role == "system" and not loop.first) or (message.role == "assistant" and not message.tool_calls) %}
                {{- '<|im_start|>' + message.role + '\n' + message.content + '<|im_end|>' + '\n' }}
            {%- endif %}
        {%- endfor %}
        {%- if add_generation_prompt %}
            {{- '<|im_start|>assistant\n' }}
        {%- endif %}
        """;

    // Qwen2-Instruct's template.
    const string Qwen2 = """{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n' }}{% endif %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}""";

    // Qwen2.5-Math-Instruct's default system turn has an escaped backslash.
    const string Qwen25Math = """{%- if messages[0]['role'] == 'system' %}{{- '<|im_start|>system\n' + messages[0]['content'] + '<|im_end|>\n' }}{%- else %}{{- '<|im_start|>system\nPlease reason step by step, and put your final answer within \\boxed{}.<|im_end|>\n' }}{%- endif %}{%- for message in messages %}{{- '<|im_start|>' + message.role + '\n' + message.content + '<|im_end|>' + '\n' }}{%- endfor %}{%- if add_generation_prompt %}{{- '<|im_start|>assistant\n' }}{%- endif %}""";

    // Llama 3's: not ChatML.
    const string Llama3 = """{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'+ message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}""";

    string Folder(string name, object? template)
    {
        string dir = Directory.CreateDirectory(Path.Combine(_dir, name)).FullName;
        File.WriteAllText(Path.Combine(dir, ChatTemplate.FileName), JsonSerializer.Serialize(new Dictionary<string, object?> { ["eos_token"] = "<|im_end|>", ["chat_template"] = template }));
        return dir;
    }

    static readonly ChatMessage[] UserOnly = [new("user", "What is 2+2?")];
    static readonly ChatMessage[] WithSystem = [new("system", "Be brief."), new("user", "What is 2+2?")];

    [Fact]
    public void Qwen25_renders_its_default_system_turn_unless_the_messages_have_one()
    {
        var t = ChatTemplate.Read(Folder("qwen25", Qwen25))!;
        Assert.Equal("You are Qwen, created by Alibaba Cloud. You are a helpful assistant.", t.DefaultSystemPrompt);
        Assert.Equal(
            "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n"
            + "<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n",
            ChatFormat.PromptText(UserOnly, t.DefaultSystemPrompt));
        Assert.Equal(
            "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n",
            ChatFormat.PromptText(WithSystem, t.DefaultSystemPrompt));
        Assert.Equal(
            "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n"
            + "<|im_start|>user\n1+1?<|im_end|>\n<|im_start|>assistant\n2<|im_end|>\n<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n",
            ChatFormat.PromptText([new("user", "1+1?"), new("assistant", "2"), .. UserOnly], t.DefaultSystemPrompt));
    }

    [Fact]
    public void Qwen2_and_Qwen25_math_defaults_are_read_from_the_template()
    {
        Assert.Equal("You are a helpful assistant.", ChatTemplate.Read(Folder("qwen2", Qwen2))!.DefaultSystemPrompt);
        var math = ChatTemplate.Read(Folder("math", Qwen25Math))!;
        Assert.Equal(ChatFormat.DefaultSystemPrompt, math.DefaultSystemPrompt);
        Assert.Equal(ChatFormat.PromptText("What is 2+2?"), ChatFormat.PromptText(UserOnly, math.DefaultSystemPrompt));
    }

    [Fact]
    public void The_builtin_models_and_Qwen3s_templates_have_no_default_system_turn()
    {
        string builtin = Directory.CreateDirectory(Path.Combine(_dir, "builtin")).FullName;
        ModelFiles.WriteTokenizerConfig(Path.Combine(builtin, ChatTemplate.FileName),
            [new AddedToken(0, "<|endoftext|>", true), new AddedToken(1, "<|im_start|>", true), new AddedToken(2, "<|im_end|>", true)], "<|im_end|>", "<|endoftext|>", 64);
        Assert.Null(ChatTemplate.Read(builtin)!.DefaultSystemPrompt);
        Assert.Null(ChatTemplate.Read(Qwen3Fixture.Dir)!.DefaultSystemPrompt);
        Assert.Equal("<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n", ChatFormat.PromptText(UserOnly, null));
        Assert.Equal(ChatFormat.PromptText("What is 2+2?", null), ChatFormat.PromptText(UserOnly, null));
    }

    [Fact]
    public void A_folder_without_a_template_has_none_and_a_named_list_uses_its_default()
    {
        Assert.Null(ChatTemplate.Read(_dir));
        Assert.Null(ChatTemplate.Read(Folder("none", null)));
        var listed = ChatTemplate.Read(Folder("listed", new[] { new { name = "tool_use", template = Llama3 }, new { name = "default", template = Qwen2 } }))!;
        Assert.Equal("You are a helpful assistant.", listed.DefaultSystemPrompt);
    }

    [Fact]
    public void A_template_that_is_not_chatml_is_refused_naming_the_file_and_the_override()
    {
        string dir = Folder("llama", Llama3);
        var e = Assert.Throws<InvalidDataException>(() => ChatTemplate.Read(dir));
        Assert.StartsWith($"{Path.Combine(dir, ChatTemplate.FileName)}: the chat_template is not ChatML-style", e.Message);
        Assert.Contains("--chat-format chatml", e.Message);
        Assert.Contains("--chat-format raw", e.Message);
        // A ChatML turn whose reply opens with a thinking block is not what TreePO renders either.
        Assert.Throws<InvalidDataException>(() => ChatTemplate.Recognise(Qwen2.Replace("assistant\\n' }}", "assistant\\n<think>\\n' }}"), "t"));
    }
}
