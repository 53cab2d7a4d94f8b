import type { CodegenConfig } from '@graphql-codegen/cli'

// Typed operations from the API's contract (../schema.graphql). `npm run codegen` rewrites
// src/graphql/generated/; `npm run codegen:check` (in `make test`) generates into a temporary
// folder (CODEGEN_OUT) and fails when the committed copy differs.
const out = process.env.CODEGEN_OUT ?? 'src/graphql/generated/'
const config: CodegenConfig = {
  schema: '../schema.graphql',
  documents: ['src/graphql/operations/**/*.graphql'],
  ignoreNoDocuments: true,
  generates: {
    [out]: {
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
