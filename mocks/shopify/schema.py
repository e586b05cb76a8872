"""The subset of Shopify's Admin GraphQL schema (version ``2025-07``) the sandbox serves, and
Shopify's calculated query cost.

The SDL names Shopify's own types and fields for what the harness
(:mod:`peakbench.adapters.shopify`) and a tracking app select; graphql-core parses, validates and
executes documents against it, so a misspelt field fails as it would on Shopify.

Cost (shopify.dev/docs/apps/build/apis/graphql-admin/rate-limits, "Cost calculation"): a scalar
or enum costs 0, an object 1, a connection ``2 + first × (cost of one node)``, a list of objects
sized by ``first`` ``first × (cost of one element)``; a mutation costs 10 whatever it selects.
``requestedQueryCost`` uses the ``first`` arguments (the maximum the query could return);
``actualQueryCost`` walks the data the query did return.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    IntValueNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    VariableNode,
    build_schema,
    get_named_type,
)

MUTATION_COST = 10

SDL = """
scalar DateTime
scalar URL
scalar Decimal
scalar UnsignedInt64

enum FulfillmentEventStatus {
  ATTEMPTED_DELIVERY CARRIER_PICKED_UP CONFIRMED DELAYED DELIVERED FAILURE IN_TRANSIT
  LABEL_PRINTED LABEL_PURCHASED OUT_FOR_DELIVERY PICKED_UP READY_FOR_PICKUP
}
enum FulfillmentDisplayStatus {
  ATTEMPTED_DELIVERY CANCELED CARRIER_PICKED_UP CONFIRMED DELAYED DELIVERED FAILURE FULFILLED
  IN_TRANSIT LABEL_PRINTED LABEL_PURCHASED LABEL_VOIDED MARKED_AS_FULFILLED NOT_DELIVERED
  OUT_FOR_DELIVERY PICKED_UP READY_FOR_PICKUP SUBMITTED
}
enum FulfillmentStatus { CANCELLED ERROR FAILURE SUCCESS OPEN PENDING }
enum FulfillmentOrderStatus { CANCELLED CLOSED INCOMPLETE IN_PROGRESS ON_HOLD OPEN SCHEDULED }
enum FulfillmentEventSortKeys { HAPPENED_AT ID RELEVANCE }
enum OrderDisplayFulfillmentStatus {
  FULFILLED IN_PROGRESS ON_HOLD OPEN PARTIALLY_FULFILLED PENDING_FULFILLMENT RESTOCKED
  SCHEDULED UNFULFILLED REQUEST_DECLINED
}
enum OrderActionType { ORDER ORDER_EDIT REFUND RETURN UNKNOWN }
enum OrderCreateFinancialStatus {
  AUTHORIZED EXPIRED PAID PARTIALLY_PAID PARTIALLY_REFUNDED PENDING REFUNDED VOIDED
}
enum CurrencyCode { USD EUR GBP CAD AUD JPY }
enum CountryCode { US CA GB DE FR AU JP }
enum OrderCreateInputsInventoryBehavior {
  BYPASS DECREMENT_IGNORING_POLICY DECREMENT_OBEYING_POLICY
}

type PageInfo {
  hasNextPage: Boolean!
  hasPreviousPage: Boolean!
  startCursor: String
  endCursor: String
}
type UserError { field: [String!] message: String! }
type OrderCreateUserError { field: [String!] message: String! code: String }
type OrderDeleteUserError { field: [String!] message: String! code: String }

type ShopPlan { partnerDevelopment: Boolean! shopifyPlus: Boolean! publicDisplayName: String! }
type Shop { id: ID! name: String! myshopifyDomain: String! plan: ShopPlan! }

type FulfillmentTrackingInfo { number: String company: String url: URL }
type FulfillmentEvent {
  id: ID! status: FulfillmentEventStatus! happenedAt: DateTime! createdAt: DateTime!
  message: String
}
type FulfillmentEventEdge { node: FulfillmentEvent! cursor: String! }
type FulfillmentEventConnection {
  nodes: [FulfillmentEvent!]! edges: [FulfillmentEventEdge!]! pageInfo: PageInfo!
}
type Fulfillment {
  id: ID!
  legacyResourceId: UnsignedInt64!
  name: String!
  status: FulfillmentStatus!
  displayStatus: FulfillmentDisplayStatus
  createdAt: DateTime!
  updatedAt: DateTime!
  inTransitAt: DateTime
  deliveredAt: DateTime
  trackingInfo(first: Int): [FulfillmentTrackingInfo!]!
  events(
    first: Int, after: String, sortKey: FulfillmentEventSortKeys = ID, reverse: Boolean = false
  ): FulfillmentEventConnection!
  order: Order!
}
type FulfillmentOrder { id: ID! status: FulfillmentOrderStatus! }
type FulfillmentOrderEdge { node: FulfillmentOrder! cursor: String! }
type FulfillmentOrderConnection {
  nodes: [FulfillmentOrder!]! edges: [FulfillmentOrderEdge!]! pageInfo: PageInfo!
}
type Order {
  id: ID!
  legacyResourceId: UnsignedInt64!
  name: String!
  email: String
  createdAt: DateTime!
  test: Boolean!
  tags: [String!]!
  displayFulfillmentStatus: OrderDisplayFulfillmentStatus!
  statusPageUrl: URL!
  fulfillments(first: Int): [Fulfillment!]!
  fulfillmentOrders(first: Int, after: String): FulfillmentOrderConnection!
}

input MoneyInput { amount: Decimal! currencyCode: CurrencyCode! }
input MoneyBagInput { shopMoney: MoneyInput! presentmentMoney: MoneyInput }
input AttributeInput { key: String! value: String! }
input OrderCreateLineItemInput {
  title: String quantity: Int! requiresShipping: Boolean priceSet: MoneyBagInput
  variantId: ID sku: String taxable: Boolean
}
input MailingAddressInput {
  firstName: String lastName: String address1: String address2: String city: String
  provinceCode: String zip: String countryCode: CountryCode phone: String company: String
}
input OrderCreateOrderInput {
  email: String
  financialStatus: OrderCreateFinancialStatus
  test: Boolean
  tags: [String!]
  note: String
  currency: CurrencyCode
  customAttributes: [AttributeInput!]
  lineItems: [OrderCreateLineItemInput!]
  shippingAddress: MailingAddressInput
  billingAddress: MailingAddressInput
}
input OrderCreateOptionsInput {
  sendReceipt: Boolean sendFulfillmentReceipt: Boolean
  inventoryBehaviour: OrderCreateInputsInventoryBehavior
}
input FulfillmentOrderLineItemsInput { fulfillmentOrderId: ID! }
input FulfillmentTrackingInput {
  number: String company: String url: URL numbers: [String!] urls: [URL!]
}
input FulfillmentInput {
  lineItemsByFulfillmentOrder: [FulfillmentOrderLineItemsInput!]!
  trackingInfo: FulfillmentTrackingInput
  notifyCustomer: Boolean
}
input FulfillmentEventInput {
  fulfillmentId: ID!
  status: FulfillmentEventStatus!
  happenedAt: DateTime
  message: String
  city: String province: String country: String zip: String
  estimatedDeliveryAt: DateTime
}

type OrderCreatePayload { order: Order userErrors: [OrderCreateUserError!]! }
type FulfillmentCreatePayload { fulfillment: Fulfillment userErrors: [UserError!]! }
type FulfillmentEventCreatePayload { fulfillmentEvent: FulfillmentEvent userErrors: [UserError!]! }
type OrderDeletePayload { deletedId: ID userErrors: [OrderDeleteUserError!]! }

type QueryRoot {
  shop: Shop!
  order(id: ID!): Order
  fulfillment(id: ID!): Fulfillment
}
type Mutation {
  orderCreate(order: OrderCreateOrderInput!, options: OrderCreateOptionsInput): OrderCreatePayload
  fulfillmentCreate(fulfillment: FulfillmentInput!, message: String): FulfillmentCreatePayload
  fulfillmentEventCreate(fulfillmentEvent: FulfillmentEventInput!): FulfillmentEventCreatePayload
  orderDelete(orderId: ID!): OrderDeletePayload
}
schema { query: QueryRoot mutation: Mutation }
"""


def admin_schema() -> GraphQLSchema:
    """A fresh schema object (the caller attaches its resolvers)."""
    return build_schema(SDL)


def _is_connection(type_: Any) -> bool:
    return isinstance(type_, GraphQLObjectType) and type_.name.endswith("Connection")


def _is_list(type_: Any) -> bool:
    inner = type_.of_type if isinstance(type_, GraphQLNonNull) else type_
    return isinstance(inner, GraphQLList)


def _first(node: FieldNode, variables: Mapping[str, Any]) -> int:
    for arg in node.arguments or ():
        if arg.name.value in ("first", "last"):
            value = arg.value
            if isinstance(value, IntValueNode):
                return int(value.value)
            if isinstance(value, VariableNode):
                got = variables.get(value.name.value)
                return int(got) if isinstance(got, int) else 0
    return 1


def _selection_cost(
    schema: GraphQLSchema,
    parent: GraphQLObjectType,
    selections: SelectionSetNode | None,
    variables: Mapping[str, Any],
    data: Any,
    actual: bool,
) -> int:
    total = 0
    for sel in selections.selections if selections else ():
        if not isinstance(sel, FieldNode) or sel.name.value not in parent.fields:
            continue  # fragments are not part of the served subset; unknown fields fail validation
        key = sel.alias.value if sel.alias else sel.name.value
        value = data.get(key) if isinstance(data, Mapping) else None
        total += _field_cost(schema, parent, sel, variables, value, actual)
    return total


def _field_cost(
    schema: GraphQLSchema,
    parent: GraphQLObjectType,
    node: FieldNode,
    variables: Mapping[str, Any],
    value: Any,
    actual: bool,
) -> int:
    type_ = parent.fields[node.name.value].type
    named = get_named_type(type_)
    if not isinstance(named, GraphQLObjectType):
        return 0
    if actual and value is None:
        return 0
    if _is_connection(named):
        node_type = named.fields["nodes"].type
        element = get_named_type(node_type)
        assert isinstance(element, GraphQLObjectType)
        sub: list[tuple[SelectionSetNode | None, list[Any]]] = []
        for sel in node.selection_set.selections if node.selection_set else ():
            if not isinstance(sel, FieldNode):
                continue
            key = sel.alias.value if sel.alias else sel.name.value
            got = value.get(key) if isinstance(value, Mapping) else None
            if sel.name.value == "nodes":
                sub.append((sel.selection_set, got if isinstance(got, list) else []))
            elif sel.name.value == "edges":
                for edge in sel.selection_set.selections if sel.selection_set else ():
                    if isinstance(edge, FieldNode) and edge.name.value == "node":
                        items = [e.get("node") for e in got or [] if isinstance(e, Mapping)]
                        k = edge.alias.value if edge.alias else "node"
                        if k != "node":
                            items = [e.get(k) for e in got or [] if isinstance(e, Mapping)]
                        sub.append((edge.selection_set, items))
        if actual:  # 2 + the nodes returned (nodes and edges of one connection count once)
            return 2 + max(
                (
                    sum(1 + _selection_cost(schema, element, s, variables, i, True) for i in items)
                    for s, items in sub
                ),
                default=0,
            )
        one = max(
            (1 + _selection_cost(schema, element, s, variables, None, False) for s, _ in sub),
            default=1,
        )
        return 2 + _first(node, variables) * one
    if _is_list(type_):
        items = value if isinstance(value, list) else []
        if actual:
            return sum(
                1 + _selection_cost(schema, named, node.selection_set, variables, item, True)
                for item in items
            )
        one = 1 + _selection_cost(schema, named, node.selection_set, variables, None, False)
        return _first(node, variables) * one
    return 1 + _selection_cost(schema, named, node.selection_set, variables, value, actual)


def operation_of(document: DocumentNode, name: str | None) -> OperationDefinitionNode | None:
    ops = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if name:
        return next((o for o in ops if o.name and o.name.value == name), None)
    return ops[0] if len(ops) == 1 else None


def query_cost(
    schema: GraphQLSchema,
    document: DocumentNode,
    variables: Mapping[str, Any],
    operation_name: str | None = None,
    data: Mapping[str, Any] | None = None,
) -> int:
    """The requested cost of a validated document (``data is None``), or its actual cost given
    the data it returned."""
    op = operation_of(document, operation_name)
    if op is None:
        return 0
    if op.operation == OperationType.MUTATION:
        fields = [s for s in op.selection_set.selections if isinstance(s, FieldNode)]
        return MUTATION_COST * max(1, len(fields))
    root = schema.query_type
    assert root is not None
    return _selection_cost(schema, root, op.selection_set, variables, data, data is not None)
