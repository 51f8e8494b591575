//! CollectionService: the tree, details, items (paged by Metabase), create and update.

use tonic::{Request, Response, Status};

use super::{failed, total_size};
use crate::convert::model::key_id;
use crate::convert::paging::Page;
use crate::convert::{collection_target, collections};
use crate::metabase::{Collection as UpstreamCollection, CollectionCreate, CollectionId, CollectionTarget};
use crate::middleware::call::CallContext;
use crate::pb::v1::collection_service_server::CollectionService;
use crate::pb::v1::{
    Collection, CollectionItem, CollectionRef, CollectionTreeNode, CreateCollectionRequest, GetCollectionRequest,
    GetCollectionTreeRequest, GetCollectionTreeResponse, ListCollectionItemsRequest, ListCollectionItemsResponse,
    UpdateCollectionRequest, collection_ref,
};

/// The CollectionService handlers.
#[derive(Debug, Default)]
pub(crate) struct CollectionApi;

/// How many items a narrowed listing reads from Metabase at most: it must read every page to
/// count only what the caller may see, so the scan is bounded.
const NARROWED_SCAN_LIMIT: u64 = 20_000;
/// The page size of a narrowed scan.
const SCAN_PAGE: u32 = 1000;

/// Checks a collection (as Metabase returned it) against the caller's narrowing.
fn check(call: &CallContext, collection: &UpstreamCollection) -> Result<(), Status> {
    let id = key_id(&collection.id);
    if let Some(id) = id {
        call.note_resource("collection", id);
    }
    call.check_collection(&crate::middleware::call::scope(id, collection.location.as_deref()))
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
        let nodes = tree.into_iter().map(CollectionTreeNode::from).collect();
        let visibility = super::visibility(&call).await?;
        Ok(Response::new(GetCollectionTreeResponse { collections: crate::narrow::tree(&visibility, nodes) }))
    }

    async fn get_collection(&self, request: Request<GetCollectionRequest>) -> Result<Response<Collection>, Status> {
        let call = CallContext::of(&request)?;
        let request = request.into_inner();
        let (target, subject) = target(request.collection.as_ref());
        let collection = call.client.collections().get(target).await.map_err(failed(subject))?;
        check(&call, &collection)?;
        let visibility = super::visibility(&call).await?;
        Ok(Response::new(crate::narrow::collection(&visibility, Collection::from(collection))))
    }

    async fn list_collection_items(
        &self,
        request: Request<ListCollectionItemsRequest>,
    ) -> Result<Response<ListCollectionItemsResponse>, Status> {
        let call = CallContext::of(&request)?;
        let request = request.into_inner();
        let page = Page::from_request(request.page_size, &request.page_token)?;
        let (target, subject) = target(request.collection.as_ref());
        let in_collection = match target {
            CollectionTarget::Id(CollectionId(id)) => {
                let collection = call.client.collections().get(target).await.map_err(failed(subject.clone()))?;
                check(&call, &collection)?;
                Some(id)
            }
            CollectionTarget::Root => None,
        };
        let visibility = super::visibility(&call).await?;
        let upstream = call.client.collections();
        if !visibility.narrows() {
            let listed = upstream
                .items(target, &request.models, request.archived, page.size as u32, page.offset as u64)
                .await
                .map_err(failed(format!("items of {subject}")))?;
            let total = usize::try_from(listed.total).unwrap_or_default();
            return Ok(Response::new(ListCollectionItemsResponse {
                items: listed.data.into_iter().map(CollectionItem::from).collect(),
                next_page_token: page.next_token(total),
                total_size: total_size(total),
                models: listed.models,
            }));
        }
        // A narrowed caller's page and total count only what it may see, so every page is read
        // and filtered before this page is cut out of what is left.
        let mut visible = Vec::new();
        let mut models = Vec::new();
        let mut offset = 0;
        loop {
            let listed = upstream
                .items(target, &request.models, request.archived, SCAN_PAGE, offset)
                .await
                .map_err(failed(format!("items of {subject}")))?;
            let read = listed.data.len() as u64;
            models.clone_from(&listed.models);
            visible.extend(
                listed
                    .data
                    .into_iter()
                    .map(CollectionItem::from)
                    .filter_map(|item| crate::narrow::collection_item(&visibility, in_collection, item)),
            );
            offset += read;
            if read < u64::from(SCAN_PAGE) || offset >= listed.total.max(0) as u64 || offset >= NARROWED_SCAN_LIMIT {
                break;
            }
        }
        let (items, total) = page.slice(visible);
        Ok(Response::new(ListCollectionItemsResponse {
            items,
            next_page_token: page.next_token(total),
            total_size: total_size(total),
            models,
        }))
    }

    async fn create_collection(
        &self,
        request: Request<CreateCollectionRequest>,
    ) -> Result<Response<Collection>, Status> {
        let call = CallContext::of(&request)?;
        let request = request.into_inner();
        let parent = request.parent_id.as_ref().and_then(collection_target).map(|id| id.get());
        let locations = super::collection_locations(&call).await?;
        call.check_collection(&super::collection_scope(parent, &locations))?;
        let body = CollectionCreate::try_from(request)?;
        let collection = call.client.collections().create(&body).await.map_err(failed("new collection"))?;
        let created = Collection::from(collection);
        call.note_resource("collection", created.id);
        let visibility = super::visibility(&call).await?;
        Ok(Response::new(crate::narrow::collection(&visibility, created)))
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
        check(&call, &current)?;
        if let Some(parent) = request.parent_id.as_ref() {
            let locations = super::collection_locations(&call).await?;
            let parent = collection_target(parent).map(|id| id.get());
            call.check_collection(&super::collection_scope(parent, &locations))?;
        }
        let current_archived = request.archived.unwrap_or(current.archived);
        let body = collections::update_body(request, current_archived);
        let collection = call.client.collections().update(CollectionId(id), &body).await.map_err(failed(subject))?;
        let visibility = super::visibility(&call).await?;
        Ok(Response::new(crate::narrow::collection(&visibility, Collection::from(collection))))
    }
}
