/* eslint-disable */
import * as types from './graphql';
import type { TypedDocumentNode as DocumentNode } from '@graphql-typed-document-node/core';

/**
 * Map of all GraphQL operations in the project.
 *
 * This map has several performance disadvantages:
 * 1. It is not tree-shakeable, so it will include all operations in the project.
 * 2. It is not minifiable, so the string of a GraphQL query will be multiple times inside the bundle.
 * 3. It does not support dead code elimination, so it will add unused operations.
 *
 * Therefore it is highly recommended to use the babel or swc plugin for production.
 * Learn more about it here: https://the-guild.dev/graphql/codegen/plugins/presets/preset-client#reducing-bundle-size
 */
type Documents = {
    "fragment SessionUser on User {\n  id\n  email\n  role\n}\n\nfragment Session on AuthPayload {\n  accessToken\n  refreshToken\n  expiresIn\n  user {\n    ...SessionUser\n  }\n}\n\nmutation Login($input: LoginInput!) {\n  login(input: $input) {\n    __typename\n    ... on AuthPayload {\n      ...Session\n    }\n    ... on InvalidCredentials {\n      message\n    }\n  }\n}\n\nmutation Register($input: RegisterInput!) {\n  register(input: $input) {\n    __typename\n    ... on AuthPayload {\n      ...Session\n    }\n    ... on ValidationError {\n      problems {\n        path\n        message\n      }\n    }\n    ... on EmailTaken {\n      message\n    }\n  }\n}\n\nmutation RefreshSession($refreshToken: String!) {\n  refreshToken(refreshToken: $refreshToken) {\n    ...Session\n  }\n}\n\nmutation Logout($refreshToken: String!) {\n  logout(refreshToken: $refreshToken) {\n    __typename\n  }\n}\n\nquery Me {\n  me {\n    ...SessionUser\n  }\n}": typeof types.SessionUserFragmentDoc,
    "subscription JobEvents {\n  jobEvents {\n    jobKind\n    jobId\n    seq\n    kind\n    status\n    stage\n    progress\n    error\n  }\n}": typeof types.JobEventsDocument,
};
const documents: Documents = {
    "fragment SessionUser on User {\n  id\n  email\n  role\n}\n\nfragment Session on AuthPayload {\n  accessToken\n  refreshToken\n  expiresIn\n  user {\n    ...SessionUser\n  }\n}\n\nmutation Login($input: LoginInput!) {\n  login(input: $input) {\n    __typename\n    ... on AuthPayload {\n      ...Session\n    }\n    ... on InvalidCredentials {\n      message\n    }\n  }\n}\n\nmutation Register($input: RegisterInput!) {\n  register(input: $input) {\n    __typename\n    ... on AuthPayload {\n      ...Session\n    }\n    ... on ValidationError {\n      problems {\n        path\n        message\n      }\n    }\n    ... on EmailTaken {\n      message\n    }\n  }\n}\n\nmutation RefreshSession($refreshToken: String!) {\n  refreshToken(refreshToken: $refreshToken) {\n    ...Session\n  }\n}\n\nmutation Logout($refreshToken: String!) {\n  logout(refreshToken: $refreshToken) {\n    __typename\n  }\n}\n\nquery Me {\n  me {\n    ...SessionUser\n  }\n}": types.SessionUserFragmentDoc,
    "subscription JobEvents {\n  jobEvents {\n    jobKind\n    jobId\n    seq\n    kind\n    status\n    stage\n    progress\n    error\n  }\n}": types.JobEventsDocument,
};

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 *
 *
 * @example
 * ```ts
 * const query = graphql(`query GetUser($id: ID!) { user(id: $id) { name } }`);
 * ```
 *
 * The query argument is unknown!
 * Please regenerate the types.
 */
export function graphql(source: string): unknown;

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "fragment SessionUser on User {\n  id\n  email\n  role\n}\n\nfragment Session on AuthPayload {\n  accessToken\n  refreshToken\n  expiresIn\n  user {\n    ...SessionUser\n  }\n}\n\nmutation Login($input: LoginInput!) {\n  login(input: $input) {\n    __typename\n    ... on AuthPayload {\n      ...Session\n    }\n    ... on InvalidCredentials {\n      message\n    }\n  }\n}\n\nmutation Register($input: RegisterInput!) {\n  register(input: $input) {\n    __typename\n    ... on AuthPayload {\n      ...Session\n    }\n    ... on ValidationError {\n      problems {\n        path\n        message\n      }\n    }\n    ... on EmailTaken {\n      message\n    }\n  }\n}\n\nmutation RefreshSession($refreshToken: String!) {\n  refreshToken(refreshToken: $refreshToken) {\n    ...Session\n  }\n}\n\nmutation Logout($refreshToken: String!) {\n  logout(refreshToken: $refreshToken) {\n    __typename\n  }\n}\n\nquery Me {\n  me {\n    ...SessionUser\n  }\n}"): (typeof documents)["fragment SessionUser on User {\n  id\n  email\n  role\n}\n\nfragment Session on AuthPayload {\n  accessToken\n  refreshToken\n  expiresIn\n  user {\n    ...SessionUser\n  }\n}\n\nmutation Login($input: LoginInput!) {\n  login(input: $input) {\n    __typename\n    ... on AuthPayload {\n      ...Session\n    }\n    ... on InvalidCredentials {\n      message\n    }\n  }\n}\n\nmutation Register($input: RegisterInput!) {\n  register(input: $input) {\n    __typename\n    ... on AuthPayload {\n      ...Session\n    }\n    ... on ValidationError {\n      problems {\n        path\n        message\n      }\n    }\n    ... on EmailTaken {\n      message\n    }\n  }\n}\n\nmutation RefreshSession($refreshToken: String!) {\n  refreshToken(refreshToken: $refreshToken) {\n    ...Session\n  }\n}\n\nmutation Logout($refreshToken: String!) {\n  logout(refreshToken: $refreshToken) {\n    __typename\n  }\n}\n\nquery Me {\n  me {\n    ...SessionUser\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "subscription JobEvents {\n  jobEvents {\n    jobKind\n    jobId\n    seq\n    kind\n    status\n    stage\n    progress\n    error\n  }\n}"): (typeof documents)["subscription JobEvents {\n  jobEvents {\n    jobKind\n    jobId\n    seq\n    kind\n    status\n    stage\n    progress\n    error\n  }\n}"];

export function graphql(source: string) {
  return (documents as any)[source] ?? {};
}

export type DocumentType<TDocumentNode extends DocumentNode<any, any>> = TDocumentNode extends DocumentNode<  infer TType,  any>  ? TType  : never;