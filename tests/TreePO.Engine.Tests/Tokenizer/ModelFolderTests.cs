using TreePO.Engine.Tokenizer;

namespace TreePO.Engine.Tests.Tokenizer;

/// <summary>EOS and pad ids from the side files of a model folder (on the small tokenizer: <|endoftext|> 261, <|im_end|> 263).</summary>
public sealed class ModelFolderTests
{
    [Fact]
    public void Eos_ids_are_the_union_of_int_and_list_forms()
    {
        string dir = SmallTokenizer.FolderWith(
            ("config.json", """{"eos_token_id": 261}"""),
            ("generation_config.json", """{"eos_token_id": [263, 261]}"""));
        try
        {
            var tok = HfTokenizer.Load(dir);
            Assert.Equal(new HashSet<int> { 261, 263 }, tok.EosIds);
            Assert.Null(tok.PadId); // no tokenizer_config.json in this folder
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Theory]
    [InlineData("config.json", """{"eos_token_id": "x"}""", "eos_token_id")]
    [InlineData("generation_config.json", """{"eos_token_id": [1, -2]}""", "eos_token_id[1]")]
    [InlineData("config.json", """{"eos_token_id": 999999}""", "eos_token_id")]
    [InlineData("tokenizer_config.json", """{"eos_token": "<|nope|>"}""", "eos_token")]
    [InlineData("tokenizer_config.json", """{"pad_token": 7}""", "pad_token")]
    [InlineData("config.json", """[1, 2]""", "config.json")]
    public void Bad_side_files_name_the_file_and_field(string file, string json, string field)
    {
        string dir = SmallTokenizer.FolderWith((file, json));
        try
        {
            var e = Assert.Throws<InvalidDataException>(() => HfTokenizer.Load(dir));
            Assert.Contains(file, e.Message);
            Assert.Contains(field, e.Message);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public void Im_end_stops_a_chat_reply_besides_the_configured_eos()
    {
        string dir = SmallTokenizer.FolderWith(("config.json", """{"eos_token_id": 261}"""));
        try
        {
            var chat = new ChatFormat(HfTokenizer.Load(dir));
            Assert.Equal(new HashSet<int> { 261, 263 }, chat.StopIds);
            Assert.Equal(263, chat.ImEndId);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public void Chat_format_needs_the_im_tokens()
    {
        var json = SmallTokenizer.Json();
        json["added_tokens"]!.AsArray().RemoveAt(1);
        string dir = TreePO.Testing.ScratchFolders.Create("treepo-tok-").FullName;
        try
        {
            File.WriteAllText(Path.Combine(dir, "tokenizer.json"), json.ToJsonString());
            var e = Assert.Throws<InvalidDataException>(() => new ChatFormat(HfTokenizer.Load(dir)));
            Assert.Contains("<|im_start|>", e.Message);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }
}
