//! The OpenAPI document of every function, assembled from what each function declares, so a
//! change of any request or response shape shows up as a diff of the snapshot test.

use gimbal_edge::Function;
use utoipa::openapi::{
    InfoBuilder, OpenApi, OpenApiBuilder,
    security::{HttpAuthScheme, HttpBuilder, SecurityScheme},
};

pub fn document(functions: &[Function]) -> OpenApi {
    let info = InfoBuilder::new()
        .title("Gimbal functions")
        .version(env!("CARGO_PKG_VERSION"))
        .description(Some(
            "Supabase-compatible edge functions. Call them with supabase.functions.invoke(name) \
             or at /functions/v1/<name> with `Authorization: Bearer <access token or API key>`. \
             Errors use one envelope: {code, error, message, field}.",
        ))
        .build();
    let mut doc = OpenApiBuilder::new().info(info).build();
    for function in functions {
        doc.merge((function.openapi)());
    }
    let scheme = HttpBuilder::new()
        .scheme(HttpAuthScheme::Bearer)
        .bearer_format("JWT")
        .build();
    let components = doc.components.get_or_insert_with(Default::default);
    components.add_security_scheme("bearer", SecurityScheme::Http(scheme));
    doc
}
