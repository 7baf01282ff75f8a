using Microsoft.OpenApi;

namespace Fmnist.Serve;

/// <summary>The parts of the OpenAPI document that ASP.NET cannot infer from a hand-read request body.</summary>
internal static class OpenApiDocs
{
    public static OpenApiRequestBody PredictBody()
    {
        var binary = new OpenApiSchema { Type = JsonSchemaType.String, Format = "binary" };
        var form = new OpenApiSchema
        {
            Type = JsonSchemaType.Object,
            Properties = new Dictionary<string, IOpenApiSchema>
            {
                ["file"] = new OpenApiSchema
                {
                    Type = JsonSchemaType.Array,
                    Items = binary,
                    MaxItems = ServeOptions.MaxFiles,
                    Description = $"One to {ServeOptions.MaxFiles} PNG or JPEG images",
                },
            },
            Required = new HashSet<string> { "file" },
        };
        return new OpenApiRequestBody
        {
            Required = true,
            Description = $"One image as the raw body, or up to {ServeOptions.MaxFiles} as `file` fields; at most {ServeOptions.MaxBodyBytes / (1024 * 1024)} MB and 40 MP per image",
            Content = new Dictionary<string, OpenApiMediaType>
            {
                ["image/png"] = new() { Schema = binary },
                ["image/jpeg"] = new() { Schema = binary },
                ["multipart/form-data"] = new() { Schema = form },
            },
        };
    }

    public static OpenApiParameter ExplainParameter() => new()
    {
        Name = ExplainApi.Query,
        In = ParameterLocation.Query,
        Required = false,
        Schema = new OpenApiSchema { Type = JsonSchemaType.Boolean, Default = System.Text.Json.Nodes.JsonValue.Create(false) },
        Description = $"Add to each prediction an `explanation`: its occlusion map (28x28) and nearest training images. Costs "
                      + $"{1 + new Explanations.OcclusionSettings().Copies} forward passes per image instead of one; at most {ExplainApi.MaxImages} images per request",
    };
}
