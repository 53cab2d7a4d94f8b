import { computed, type ComputedRef } from 'vue'
import { useQuery } from '@urql/vue'
import { StrategySchemaDocument } from '@/graphql/generated/graphql'
import { catalogFromSchema, type Catalog } from '../catalog'

/** The builder's catalog from the API's `strategySchema` (public, cached for the session). */
export function useStrategyCatalog(): { catalog: ComputedRef<Catalog | null>; error: ComputedRef<string | null> } {
  const q = useQuery({ query: StrategySchemaDocument, requestPolicy: 'cache-first' })
  return {
    catalog: computed(() => (q.data.value ? catalogFromSchema(q.data.value.strategySchema) : null)),
    error: computed(() => (q.error.value ? q.error.value.message : null)),
  }
}
