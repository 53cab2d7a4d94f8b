import type { CodegenConfig } from '@graphql-codegen/cli'

// Typed operations from the API's contract (../schema.graphql). `npm run codegen` rewrites
// src/graphql/generated/; a test fails when the committed copy is stale.
const config: CodegenConfig = {
  schema: '../schema.graphql',
  documents: ['src/graphql/operations/**/*.graphql'],
  ignoreNoDocuments: true,
  generates: {
    'src/graphql/generated/': {
      preset: 'client',
      config: {
        useTypeImports: true,
        enumsAsTypes: true,
        scalars: { DateTime: 'string', JSON: 'unknown', Upload: 'File' },
      },
      presetConfig: { fragmentMasking: false },
    },
  },
}
export default config
