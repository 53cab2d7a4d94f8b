"""The GraphQL API: Strawberry schema, resolvers, subscriptions and the Starlette app."""
