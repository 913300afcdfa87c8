using TreePO.Engine.Tokenizer;

namespace TreePO.Engine.Tests.Tokenizer;

public sealed class ChatFormatTests
{
    [Fact]
    public void Prompt_text_is_chatml_with_the_reference_system_prompt()
    {
        Assert.Equal(
            "<|im_start|>system\nPlease reason step by step, and put your final answer within \\boxed{}.<|im_end|>\n"
            + "<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n",
            ChatFormat.PromptText("What is 2+2?"));
        Assert.Equal("<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n", ChatFormat.PromptText("hi", systemPrompt: null));
    }

    [Fact]
    public void Prompt_ids_put_the_role_markers_as_single_tokens()
    {
        var chat = new ChatFormat(Qwen3Fixture.Tokenizer, systemPrompt: null);
        // <|im_start|> 151644, "user" 872, "\n" 198, "hi" 6023, <|im_end|> 151645, "\n" 198, <|im_start|>, "assistant" 77091, "\n".
        Assert.Equal([151644, 872, 198, 6023, 151645, 198, 151644, 77091, 198], chat.PromptIds("hi"));
        Assert.Equal([19, 151645], chat.ReplyIds("4")); // "4" 19, then <|im_end|> ends the reply
    }
}
