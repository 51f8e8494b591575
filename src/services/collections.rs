//! CollectionService: the tree, details, items (paged by Metabase), create and update.

use tonic::{Request, Response, Status};

use super::{failed, total_size};
use crate::convert::paging::Page;
use crate::convert::{collections, to_json};
use crate::metabase::{CollectionId, CollectionTarget};
use crate::middleware::call::CallContext;
use crate::pb::v1::collection_service_server::CollectionService;
use crate::pb::v1::{
    Collection, CollectionRef, CreateCollectionRequest, GetCollectionRequest, GetCollectionTreeRequest,
    GetCollectionTreeResponse, ListCollectionItemsRequest, ListCollectionItemsResponse, UpdateCollectionRequest,
    collection_ref,
};

/// The CollectionService handlers.
#[derive(Debug, Default)]
pub struct CollectionApi;

/// Keeps the tree nodes the caller may see; the visible children of a hidden node move up to its
/// place, as Metabase does for collections a user cannot read.
fn prune(call: &CallContext, nodes: Vec<serde_json::Value>) -> Vec<serde_json::Value> {
    let mut kept = Vec::new();
    for mut node in nodes {
        let children = node.get_mut("children").map(serde_json::Value::take).and_then(|children| match children {
            serde_json::Value::Array(children) => Some(children),
            _ => None,
        });
        let visible_children = prune(call, children.unwrap_or_default());
        let id = node.get("id").and_then(serde_json::Value::as_i64);
        let location = node.get("location").and_then(serde_json::Value::as_str).map(str::to_owned);
        if call.sees_collection(&crate::middleware::call::scope(id, location.as_deref())) {
            node["children"] = serde_json::Value::Array(visible_children);
            kept.push(node);
        } else {
            kept.extend(visible_children);
        }
    }
    kept
}

/// Checks a collection (as Metabase returned it) against the caller's narrowing.
fn check(call: &CallContext, collection: &serde_json::Value) -> Result<(), Status> {
    let id = collection.get("id").and_then(serde_json::Value::as_i64);
    if let Some(id) = id {
        call.note_resource("collection", id);
    }
    call.check_collection(&crate::middleware::call::scope(
        id,
        collection.get("location").and_then(serde_json::Value::as_str),
    ))
}

fn target(reference: Option<&CollectionRef>) -> (CollectionTarget, String) {
    match reference.and_then(|reference| reference.collection) {
        Some(collection_ref::Collection::Id(id)) => {
            (CollectionTarget::Id(CollectionId(id)), format!("collection {id}"))
        }
        Some(collection_ref::Collection::Root(_)) | None => (CollectionTarget::Root, "the root collection".to_owned()),
    }
}

#[tonic::async_trait]
impl CollectionService for CollectionApi {
    async fn get_collection_tree(
        &self,
        request: Request<GetCollectionTreeRequest>,
    ) -> Result<Response<GetCollectionTreeResponse>, Status> {
        let call = CallContext::of(&request)?;
        let request = request.into_inner();
        let tree = call
            .client
            .collections()
            .tree(request.exclude_archived, request.namespace.as_deref())
            .await
            .map_err(failed("collection tree"))?;
        let nodes: Vec<serde_json::Value> = tree.iter().map(to_json).collect();
        let visible = if call.narrows_collections() { prune(&call, nodes) } else { nodes };
        Ok(Response::new(GetCollectionTreeResponse {
            collections: visible.into_iter().map(collections::tree_node).collect(),
        }))
    }

    async fn get_collection(&self, request: Request<GetCollectionRequest>) -> Result<Response<Collection>, Status> {
        let call = CallContext::of(&request)?;
        let request = request.into_inner();
        let (target, subject) = target(request.collection.as_ref());
        let collection = to_json(&call.client.collections().get(target).await.map_err(failed(subject))?);
        check(&call, &collection)?;
        Ok(Response::new(collections::collection(collection)))
    }

    async fn list_collection_items(
        &self,
        request: Request<ListCollectionItemsRequest>,
    ) -> Result<Response<ListCollectionItemsResponse>, Status> {
        let call = CallContext::of(&request)?;
        let request = request.into_inner();
        let page = Page::from_request(request.page_size, &request.page_token)?;
        let (target, subject) = target(request.collection.as_ref());
        // A narrowed caller lists its own subtrees; at the root it sees only the collections it
        // may read, never items that live at the root.
        let filter_root = call.narrows_collections() && target == CollectionTarget::Root;
        if let CollectionTarget::Id(_) = target {
            let collection = to_json(&call.client.collections().get(target).await.map_err(failed(subject.clone()))?);
            check(&call, &collection)?;
        }
        let listed = call
            .client
            .collections()
            .items(target, &request.models, request.archived, page.size as u32, page.offset as u64)
            .await
            .map_err(failed(format!("items of {subject}")))?;
        let mut items: Vec<serde_json::Value> = listed.data.iter().map(to_json).collect();
        let mut total = usize::try_from(listed.total).unwrap_or_default();
        if filter_root {
            items.retain(|item| {
                item.get("model").and_then(serde_json::Value::as_str) == Some("collection")
                    && call.sees_collection(&crate::middleware::call::scope(
                        item.get("id").and_then(serde_json::Value::as_i64),
                        item.get("location").and_then(serde_json::Value::as_str),
                    ))
            });
            total = page.offset + items.len();
        }
        Ok(Response::new(ListCollectionItemsResponse {
            items: items.into_iter().map(collections::item).collect(),
            next_page_token: page.next_token(total),
            total_size: total_size(total),
            models: listed.models.clone(),
        }))
    }

    async fn create_collection(
        &self,
        request: Request<CreateCollectionRequest>,
    ) -> Result<Response<Collection>, Status> {
        let call = CallContext::of(&request)?;
        let request = request.into_inner();
        let parent = request.parent_id.as_ref().map(crate::convert::collection_value).and_then(|value| value.as_i64());
        let locations = super::collection_locations(&call).await?;
        call.check_collection(&super::collection_scope(parent, &locations))?;
        let body = collections::create_body(request)?;
        let collection = call.client.collections().create(body).await.map_err(failed("new collection"))?;
        Ok(Response::new(collections::collection(to_json(&collection))))
    }

    async fn update_collection(
        &self,
        request: Request<UpdateCollectionRequest>,
    ) -> Result<Response<Collection>, Status> {
        let call = CallContext::of(&request)?;
        let request = request.into_inner();
        let id = request.collection_id;
        let subject = format!("collection {id}");
        let current = call
            .client
            .collections()
            .get(CollectionTarget::Id(CollectionId(id)))
            .await
            .map_err(failed(subject.clone()))?;
        check(&call, &to_json(&current))?;
        if let Some(parent) = request.parent_id.as_ref() {
            let locations = super::collection_locations(&call).await?;
            call.check_collection(&super::collection_scope(
                crate::convert::collection_value(parent).as_i64(),
                &locations,
            ))?;
        }
        let current_archived = request.archived.unwrap_or(current.archived);
        let body = collections::update_body(request, current_archived);
        let collection = call.client.collections().update(CollectionId(id), body).await.map_err(failed(subject))?;
        Ok(Response::new(collections::collection(to_json(&collection))))
    }
}
