//! A Codama plugin that runs before the default one: fixed arrays whose
//! length is a constant of the interface crate (Codama reads source, so it
//! sees the name, not the value), and byte arrays as fixed-size bytes
//! rather than arrays of numbers.

use codama::{
    ArrayTypeNode, BytesTypeNode, CodamaResult, DefaultPlugin, DefinedTypeLinkNode, FieldKorok,
    FixedCountNode, FixedSizeTypeNode, KorokPlugin, KorokVisitable, KorokVisitor, TypeNode,
};
use gradual_interface::state;

pub struct GradualPlugin;

impl KorokPlugin for GradualPlugin {
    fn on_initialized(&self, visitable: &mut dyn KorokVisitable) -> CodamaResult<()> {
        DefaultPlugin.on_initialized(visitable)
    }

    fn on_fields_set(&self, visitable: &mut dyn KorokVisitable) -> CodamaResult<()> {
        visitable.accept(&mut FixedArrays)?;
        DefaultPlugin.on_fields_set(visitable)
    }

    fn on_program_items_set(&self, visitable: &mut dyn KorokVisitable) -> CodamaResult<()> {
        DefaultPlugin.on_program_items_set(visitable)
    }

    fn on_root_node_set(&self, visitable: &mut dyn KorokVisitable) -> CodamaResult<()> {
        DefaultPlugin.on_root_node_set(visitable)
    }
}

/// The constants used as array lengths in the layouts, by name.
fn constant(name: &str) -> Option<usize> {
    Some(match name {
        "STAKE_HISTORY" => state::STAKE_HISTORY,
        "PARAMS_HISTORY" => state::PARAMS_HISTORY,
        "SUBMISSION_RING" => state::SUBMISSION_RING,
        "VOTES_PER_ROUND" => state::VOTES_PER_ROUND,
        "DISTRIBUTION_VOTES" => state::DISTRIBUTION_VOTES,
        "MAX_NAME_LEN" => state::MAX_NAME_LEN,
        "MAX_DESCRIPTION_LEN" => state::MAX_DESCRIPTION_LEN,
        "MAX_EXECUTABLE_LOCATOR_LEN" => state::MAX_EXECUTABLE_LOCATOR_LEN,
        "MAX_SERVICE_URL_LEN" => state::MAX_SERVICE_URL_LEN,
        "MAX_PROOF_LOCATOR_LEN" => state::MAX_PROOF_LOCATOR_LEN,
        "MAX_LIST_URL_LEN" => state::MAX_LIST_URL_LEN,
        _ => return None,
    })
}

fn length(expr: &syn::Expr) -> Option<usize> {
    match expr {
        syn::Expr::Lit(syn::ExprLit { lit: syn::Lit::Int(int), .. }) => int.base10_parse().ok(),
        syn::Expr::Path(path) => constant(&path.path.segments.last()?.ident.to_string()),
        _ => None,
    }
}

fn array_node(array: &syn::TypeArray) -> Option<TypeNode> {
    let count = length(&array.len)?;
    let syn::Type::Path(item) = &*array.elem else { return None };
    let item = item.path.segments.last()?.ident.to_string();
    if item == "u8" {
        return Some(FixedSizeTypeNode::new(BytesTypeNode::new(), count).into());
    }
    let mut chars = item.chars();
    let camel = chars.next()?.to_ascii_lowercase().to_string() + chars.as_str();
    Some(ArrayTypeNode::new(DefinedTypeLinkNode::new(camel), FixedCountNode::new(count as u64)).into())
}

struct FixedArrays;

impl KorokVisitor for FixedArrays {
    fn visit_field(&mut self, korok: &mut FieldKorok) -> CodamaResult<()> {
        if korok.node.is_none() {
            if let syn::Type::Array(array) = &korok.ast.ty {
                if let Some(node) = array_node(array) {
                    korok.set_type_node(node);
                }
            }
        }
        Ok(())
    }
}
