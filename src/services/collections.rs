//! CollectionService: the tree, details, items (paged by Metabase), create and update.

use std::sync::Arc;

use tonic::{Request, Response, Status};

use super::{GatewayState, failed, total_size};
use crate::convert::paging::Page;
use crate::convert::{collections, to_json};
use crate::metabase::{CollectionId, CollectionTarget};
use crate::pb::v1::collection_service_server::CollectionService;
use crate::pb::v1::{
    Collection, CollectionRef, CreateCollectionRequest, GetCollectionRequest, GetCollectionTreeRequest,
    GetCollectionTreeResponse, ListCollectionItemsRequest, ListCollectionItemsResponse, UpdateCollectionRequest,
    collection_ref,
};

/// The CollectionService handlers.
pub struct CollectionApi {
    state: Arc<GatewayState>,
}

impl CollectionApi {
    /// Returns the service over the shared state.
    pub fn new(state: Arc<GatewayState>) -> Self {
        CollectionApi { state }
    }
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
        let request = request.into_inner();
        let tree = self
            .state
            .client
            .collections()
            .tree(request.exclude_archived, request.namespace.as_deref())
            .await
            .map_err(failed("collection tree"))?;
        Ok(Response::new(GetCollectionTreeResponse {
            collections: tree.iter().map(|node| collections::tree_node(to_json(node))).collect(),
        }))
    }

    async fn get_collection(&self, request: Request<GetCollectionRequest>) -> Result<Response<Collection>, Status> {
        let request = request.into_inner();
        let (target, subject) = target(request.collection.as_ref());
        let collection = self.state.client.collections().get(target).await.map_err(failed(subject))?;
        Ok(Response::new(collections::collection(to_json(&collection))))
    }

    async fn list_collection_items(
        &self,
        request: Request<ListCollectionItemsRequest>,
    ) -> Result<Response<ListCollectionItemsResponse>, Status> {
        let request = request.into_inner();
        let page = Page::from_request(request.page_size, &request.page_token)?;
        let (target, subject) = target(request.collection.as_ref());
        let listed = self
            .state
            .client
            .collections()
            .items(target, &request.models, request.archived, page.size as u32, page.offset as u64)
            .await
            .map_err(failed(format!("items of {subject}")))?;
        let total = usize::try_from(listed.total).unwrap_or_default();
        Ok(Response::new(ListCollectionItemsResponse {
            items: listed.data.iter().map(|item| collections::item(to_json(item))).collect(),
            next_page_token: page.next_token(total),
            total_size: total_size(total),
            models: listed.models.clone(),
        }))
    }

    async fn create_collection(
        &self,
        request: Request<CreateCollectionRequest>,
    ) -> Result<Response<Collection>, Status> {
        let body = collections::create_body(request.into_inner())?;
        let collection = self.state.client.collections().create(body).await.map_err(failed("new collection"))?;
        Ok(Response::new(collections::collection(to_json(&collection))))
    }

    async fn update_collection(
        &self,
        request: Request<UpdateCollectionRequest>,
    ) -> Result<Response<Collection>, Status> {
        let request = request.into_inner();
        let id = request.collection_id;
        let subject = format!("collection {id}");
        let current_archived = match request.archived {
            Some(archived) => archived,
            None => {
                let current = self
                    .state
                    .client
                    .collections()
                    .get(CollectionTarget::Id(CollectionId(id)))
                    .await
                    .map_err(failed(subject.clone()))?;
                current.archived
            }
        };
        let body = collections::update_body(request, current_archived);
        let collection =
            self.state.client.collections().update(CollectionId(id), body).await.map_err(failed(subject))?;
        Ok(Response::new(collections::collection(to_json(&collection))))
    }
}
